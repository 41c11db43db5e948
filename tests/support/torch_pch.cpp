// Empty on purpose: the target cadenza_test_torch_pch (tests/CMakeLists.txt) needs one source to build the tests'
// precompiled <torch/torch.h> with; the tests that include libtorch reuse that header.
