/* The built-in profiles and the profile schema, linked into the simulator as
 * NUL-terminated strings (profile_load.c picks one by name; profile_check.c reads the
 * schema).  Their paths are given by the build (setup.py): SIM_PROFILE_<NAME>. */
#define BUILTIN(sym, path)              \
    .global sym;                        \
    .hidden sym;                        \
    .type sym, @object;                 \
sym:                                    \
    .incbin path;                       \
    .byte 0;                            \
    .size sym, . - sym

    .section .rodata
BUILTIN(sim_profile_default, SIM_PROFILE_DEFAULT)
BUILTIN(sim_profile_vgpu_host, SIM_PROFILE_VGPU_HOST)
BUILTIN(sim_profile_hgx8, SIM_PROFILE_HGX_H100_8)
BUILTIN(sim_profile_h100_mig, SIM_PROFILE_H100_MIG)
BUILTIN(sim_profile_a100, SIM_PROFILE_A100)
BUILTIN(sim_profile_rtx4090, SIM_PROFILE_RTX4090)
BUILTIN(sim_profile_h200, SIM_PROFILE_H200)
BUILTIN(sim_profile_schema, SIM_PROFILE_SCHEMA)
    .section .note.GNU-stack,"",@progbits
