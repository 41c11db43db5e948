// `--device` end to end, once per device: train (fp32 and bf16), evaluate and generate on the device, and the
// checkpoint it wrote scores the same on the CPU. The cpu instance runs everywhere (CI); the cuda instance runs where
// this libtorch sees a CUDA device (scripts/gpu_check.sh) and is skipped, loudly, elsewhere. Label: gpu.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/safetensors.h"
#include "midi/midi.h"
#include "support/test_support.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::run_cadenza;

Score tune(int seed, int length) {
  Score score = make_empty_score(480, 120.0);
  Track track;
  track.name = "tune";
  for (int i = 0; i < length; ++i) track.notes.push_back({60 + (seed * 7 + i * 5) % 12, 90, i * 240, i * 240 + 240});
  score.tracks.push_back(track);
  score.normalize();
  return score;
}

double model_nll(const std::string& arguments) {
  const auto evaluated = run_cadenza("evaluate " + arguments + " --json --no-baseline --threads 1");
  EXPECT_EQ(evaluated.exit_code, 0) << evaluated.output;
  if (evaluated.exit_code != 0) return NAN;
  return nlohmann::json::parse(evaluated.output.substr(evaluated.output.find('{')))["model"]["nll"].get<double>();
}

class GpuDevices : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.file("tunes"));
    for (int i = 0; i < 40; ++i)
      write_midi_file(tune(i, 20 + i % 7), dir_.file("tunes/tune" + std::to_string(i) + ".mid"));
    const auto prepared = run_cadenza("dataset prepare --input " + dir_.file("tunes") +
                                      " --encoding melody --split 0.6,0.2,0.2 --out " + shard_);
    ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
    if (GetParam() != "cpu") {
      const auto probe = run_cadenza("train --model lstm --preset tiny --steps 1 --threads 1 --data " + shard_ +
                                     " --device " + GetParam() + " --out " + dir_.file("probe"));
      if (probe.exit_code != 0 && probe.output.find("no CUDA device is available") != std::string::npos)
        GTEST_SKIP() << "SKIPPED: --device " << GetParam() << ": no CUDA device here (" << probe.output << ")";
      ASSERT_EQ(probe.exit_code, 0) << probe.output;
    }
  }

  testing::TempDir dir_;
  std::string shard_ = dir_.file("tunes.cdz");
};

TEST_P(GpuDevices, TrainEvaluateGenerateOnTheDeviceAndTheCheckpointMovesToTheCpu) {
  const std::string device = " --device " + GetParam();
  for (const std::string family : {"lstm", "transformer"}) {
    for (const std::string precision : {"fp32", "bf16"}) {
      const std::string run = dir_.file(family + "-" + precision);
      const auto trained = run_cadenza("train --model " + family + " --preset tiny --steps 6 --threads 1 --data " +
                                       shard_ + " --out " + run + device + " --precision " + precision);
      ASSERT_EQ(trained.exit_code, 0) << trained.output;
      // Checkpoints hold CPU fp32 tensors whatever the device and precision.
      for (const auto& [name, tensor] : safetensors::read(run + "/checkpoints/last.safetensors").tensors)
        EXPECT_TRUE(tensor.dtype != safetensors::DType::kBF16 && tensor.dtype != safetensors::DType::kF16) << name;
      const double on_device = model_nll("--checkpoint " + run + " --data " + shard_ + device);
      const double on_cpu = model_nll("--checkpoint " + run + " --data " + shard_ + " --device cpu");
      ASSERT_TRUE(std::isfinite(on_device)) << family << " " << precision;
      EXPECT_NEAR(on_device, on_cpu, 1e-4 * std::max(1.0, on_cpu)) << family << " " << precision;
      const auto generated = run_cadenza("generate --checkpoint " + run + " --out " + run + "/samples -n 2 " +
                                         "--bars 2 --seed 3 --threads 1" + device);
      ASSERT_EQ(generated.exit_code, 0) << generated.output;
      int files = 0;
      for (const auto& entry : fs::directory_iterator(run + "/samples")) files += entry.path().extension() == ".mid";
      EXPECT_EQ(files, 2) << family << " " << precision;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, GpuDevices, ::testing::Values("cpu", "cuda"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace cadenza
