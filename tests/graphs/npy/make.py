#!/usr/bin/python3
"""Writes the .npy/.npz fixtures tests/unit/test_npy.c reads, with numpy itself as the reference writer.

Element k (in row-major order) of every float array is k * 0.5 - 3, of every integer array k - 5, of
every bool array k % 3 == 0: the test recomputes these instead of storing expected values.
usage: /usr/bin/python3 tests/graphs/npy/make.py   (run from anywhere; writes beside this script)
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def floats(shape, dtype):
    return (np.arange(int(np.prod(shape))) * 0.5 - 3).reshape(shape).astype(dtype)


def ints(shape, dtype):
    return (np.arange(int(np.prod(shape))) - 5).reshape(shape).astype(dtype)


def save(name, array):
    np.save(os.path.join(here, name), array)


save("f4_2x3x4.npy", floats((2, 3, 4), "<f4"))
save("f4_fortran_3x5.npy", np.asfortranarray(floats((3, 5), "<f4")))
save("f2_7.npy", floats((7,), "<f2"))
save("f8_scalar.npy", floats((), "<f8"))
save("i8_2x5.npy", ints((2, 5), "<i8"))
save("u1_6.npy", (np.arange(6) * 7).astype("u1"))
save("b1_4x2.npy", (np.arange(8) % 3 == 0).reshape(4, 2))
save("f4_big_endian_3.npy", floats((3,), ">f4"))
np.savez(os.path.join(here, "pair.npz"), x=floats((2, 3), "<f4"), ids=ints((4,), "<i8"))
np.savez_compressed(os.path.join(here, "pair_compressed.npz"), x=floats((2, 3), "<f4"), ids=ints((4,), "<i8"))
