/* The built-in profile, linked into the simulator as a NUL-terminated string.
 * SIM_DEFAULT_PROFILE is the path of profiles/default.json, given by the build. */
    .section .rodata
    .global sim_default_profile
    .type sim_default_profile, @object
sim_default_profile:
    .incbin SIM_DEFAULT_PROFILE
    .byte 0
    .size sim_default_profile, . - sim_default_profile
    .section .note.GNU-stack,"",@progbits
