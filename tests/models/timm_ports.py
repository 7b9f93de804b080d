"""PVT v1 and XCiT as plain torch modules, for gen.py. PVT v1 is not in timm; XCiT was ported before
tools/model-toolchain.sh made timm available and is kept so its model stays as committed (CaiT, EVA-02,
CoaT, BEiT and TinyViT come from timm itself, see gen.py's timm_model).

Each class follows the reference code line by line (timm's xcit.py, PVT v1's pvt.py from
whai362/PVT, which timm does not carry) so the exported graphs have the shapes those exporters write;
only the training-time parts (dropout, drop-path, weight init) are left out. Names of parameters
follow the references, which gen.py's randomise_parameters relies on (gamma_*, temperature, ...).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def layer_norm(dim):
    return nn.LayerNorm(dim, eps=1e-6)  # timm's partial(nn.LayerNorm, eps=1e-6) in all three models


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ClassAttn(nn.Module):
    """timm cait.ClassAttn (XCiT's class attention): the class token's query against every token's key and value."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q = self.q(x[:, 0]).unsqueeze(1).reshape(B, 1, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        k = self.k(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        q = q * self.scale
        v = self.v(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1))
        attn = attn.softmax(dim=-1)
        x_cls = (attn @ v).transpose(1, 2).reshape(B, 1, C)
        return self.proj(x_cls)


# ------------------------------------------------------------------------------------------- PVT v1

class SpatialReductionAttention(nn.Module):
    """PVT v1's Attention: keys and values come from the tokens reduced by a strided conv (kernel and
    stride sr_ratio) and a LayerNorm, so the scores are [B, H, N, N / sr_ratio²]."""

    def __init__(self, dim, num_heads, sr_ratio):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x, H, W):
        B, N, C = x.shape
        q = self.q(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        if self.sr_ratio > 1:
            x_ = x.permute(0, 2, 1).reshape(B, C, H, W)
            x_ = self.sr(x_).reshape(B, C, -1).permute(0, 2, 1)
            x_ = self.norm(x_)
            kv = self.kv(x_).reshape(B, -1, 2, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        else:
            kv = self.kv(x).reshape(B, -1, 2, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class PvtBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, sr_ratio):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = SpatialReductionAttention(dim, num_heads, sr_ratio)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, H, W):
        x = x + self.attn(self.norm1(x), H, W)
        return x + self.mlp(self.norm2(x))


class PvtPatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        x = self.proj(x)
        H, W = x.shape[2], x.shape[3]
        return self.norm(x.flatten(2).transpose(1, 2)), (H, W)


class PvtStage(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, dim, num_heads, mlp_ratio, sr_ratio, depth, cls):
        super().__init__()
        self.patch_embed = PvtPatchEmbed(img_size, patch_size, in_chans, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + cls, dim))
        self.blocks = nn.ModuleList([PvtBlock(dim, num_heads, mlp_ratio, sr_ratio) for _ in range(depth)])


class PyramidVisionTransformer(nn.Module):
    """PVT v1: stages of patch embedding (each halving or quartering the resolution), position
    embedding and spatial-reduction blocks; the last stage prepends a class token. At the trained
    resolution _get_pos_embed returns the embedding unchanged, which is the case here."""

    def __init__(self, img_size=32, patch_sizes=(4, 2, 2), embed_dims=(32, 64, 96), num_heads=(2, 2, 4),
                 mlp_ratios=(2, 2, 2), sr_ratios=(4, 2, 1), depths=(1, 1, 1), num_classes=10):
        super().__init__()
        self.stages = nn.ModuleList()
        size, chans = img_size, 3
        for i in range(len(depths)):
            last = i == len(depths) - 1
            self.stages.append(PvtStage(size, patch_sizes[i], chans, embed_dims[i], num_heads[i], mlp_ratios[i],
                                        sr_ratios[i], depths[i], cls=int(last)))
            size, chans = size // patch_sizes[i], embed_dims[i]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims[-1]))
        self.norm = layer_norm(embed_dims[-1])
        self.head = nn.Linear(embed_dims[-1], num_classes)

    def forward(self, x):
        B = x.shape[0]
        for i, stage in enumerate(self.stages):
            x, (H, W) = stage.patch_embed(x)
            pos_embed = stage.pos_embed
            if i == len(self.stages) - 1:
                x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
                pos_embed = torch.cat((pos_embed[:, 0:1], pos_embed[:, 1:]), dim=1)
            x = x + pos_embed
            for blk in stage.blocks:
                x = blk(x, H, W)
            if i != len(self.stages) - 1:
                x = x.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()
        x = self.norm(x)
        return self.head(x[:, 0])


# --------------------------------------------------------------------------------------------- XCiT

def conv3x3(in_planes, out_planes, stride):
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(out_planes))


class ConvPatchEmbed(nn.Module):
    """timm xcit.ConvPatchEmbed for patch_size 8: three stride-2 conv3x3 + BatchNorm, GELU between."""

    def __init__(self, embed_dim):
        super().__init__()
        self.proj = nn.Sequential(conv3x3(3, embed_dim // 4, 2), nn.GELU(), conv3x3(embed_dim // 4, embed_dim // 2, 2),
                                  nn.GELU(), conv3x3(embed_dim // 2, embed_dim, 2))

    def forward(self, x):
        x = self.proj(x)
        Hp, Wp = x.shape[2], x.shape[3]
        return x.flatten(2).transpose(1, 2), (Hp, Wp)


class LPI(nn.Module):
    """timm xcit.LPI, local patch interaction: depthwise conv, GELU, BatchNorm, depthwise conv."""

    def __init__(self, in_features, kernel_size=3):
        super().__init__()
        padding = kernel_size // 2
        self.conv1 = nn.Conv2d(in_features, in_features, kernel_size=kernel_size, padding=padding, groups=in_features)
        self.act = nn.GELU()
        self.bn = nn.BatchNorm2d(in_features)
        self.conv2 = nn.Conv2d(in_features, in_features, kernel_size=kernel_size, padding=padding, groups=in_features)

    def forward(self, x, H, W):
        B, N, C = x.shape
        x = x.permute(0, 2, 1).reshape(B, C, H, W)
        x = self.conv2(self.bn(self.act(self.conv1(x))))
        return x.reshape(B, C, N).permute(0, 2, 1)


class XCA(nn.Module):
    """timm xcit.XCA, cross-covariance attention: the attention runs over channels, [B, H, C', C'],
    with q and k L2-normalised along the tokens and a learned per-head temperature."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 4, 1)
        q, k, v = qkv.unbind(0)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1)) * self.temperature
        attn = attn.softmax(dim=-1)
        x = (attn @ v).permute(0, 3, 1, 2).reshape(B, N, C)
        return self.proj(x)


class XCABlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = XCA(dim, num_heads)
        self.norm3 = layer_norm(dim)
        self.local_mp = LPI(dim)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.gamma1 = nn.Parameter(torch.ones(dim))
        self.gamma3 = nn.Parameter(torch.ones(dim))
        self.gamma2 = nn.Parameter(torch.ones(dim))

    def forward(self, x, H, W):
        x = x + self.gamma1 * self.attn(self.norm1(x))
        x = x + self.gamma3 * self.local_mp(self.norm3(x), H, W)  # timm: "official code has 3 then 2"
        return x + self.gamma2 * self.mlp(self.norm2(x))


class ClassAttentionBlock(nn.Module):
    """timm xcit.ClassAttentionBlock with tokens_norm=False: only the class token is normed and MLP'd."""

    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = ClassAttn(dim, num_heads)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.gamma1 = nn.Parameter(torch.ones(dim))
        self.gamma2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x_norm1 = self.norm1(x)
        x_attn = torch.cat([self.attn(x_norm1), x_norm1[:, 1:]], dim=1)
        x = x + self.gamma1 * x_attn
        x = torch.cat([self.norm2(x[:, 0:1]), x[:, 1:]], dim=1)
        x_res = x
        cls_token = self.gamma2 * self.mlp(x[:, 0:1])
        x = torch.cat([cls_token, x[:, 1:]], dim=1)
        return x_res + x


class XCiT(nn.Module):
    """timm xcit.Xcit with use_pos_embed=False (a timm option): its Fourier position encoding (Sin and
    Cos of Range over the feature-map size, then a 1x1 conv) is left out; it is a constant for a fixed
    image size and adds nothing to the attention variants these tests are for."""

    def __init__(self, embed_dim=96, depth=2, num_heads=4, mlp_ratio=2.0, cls_attn_layers=1, num_classes=10):
        super().__init__()
        self.patch_embed = ConvPatchEmbed(embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.ModuleList([XCABlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.cls_attn_blocks = nn.ModuleList(
            [ClassAttentionBlock(embed_dim, num_heads, mlp_ratio) for _ in range(cls_attn_layers)])
        self.norm = layer_norm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        B = x.shape[0]
        x, (Hp, Wp) = self.patch_embed(x)
        for blk in self.blocks:
            x = blk(x, Hp, Wp)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        for blk in self.cls_attn_blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x[:, 0])
