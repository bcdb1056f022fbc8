// The translation unit that owns the one precompiled <torch/torch.h> every
// libtorch-using target reuses (CMakeLists.txt: prealign_reuse_torch_pch).
