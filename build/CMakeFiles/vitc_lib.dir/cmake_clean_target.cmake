file(REMOVE_RECURSE
  "libvitc.a"
)
