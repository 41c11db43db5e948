// torch <-> safetensors, module save/load by PyTorch names, and the proof that Python reads our files: the
// standard-library reader scripts/read_safetensors.py, and PyTorch loading our checkpoint with strict
// load_state_dict into the reference model of tests/fixtures/make_model_fixtures.py.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/error.h"
#include "common/file_io.h"
#include "common/safetensors.h"
#include "models/factories.h"
#include "models/tensor_io.h"
#include "support/sequence_models.h"
#include "support/test_support.h"

namespace cadenza::models {
namespace {

ModelConfig lstm_config() {
  ModelConfig config;
  config.family = "lstm";
  config.input_kind = InputKind::kTokens;
  config.vocab_size = 9;
  config.embedding_size = 5;
  config.hidden_size = 7;
  config.num_layers = 2;
  return config;
}

std::shared_ptr<SequenceModelImpl> seeded_model(const ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  return cadenza::testing::test_sequence_model(config);
}

bool same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.keys() != pb.keys()) return false;
  for (const auto& item : pa)
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  return true;
}

// The FormatError message of loading `path` into `model`, or "" when it loads.
std::string load_error(torch::nn::Module& model, const std::string& path) {
  try {
    load_module_safetensors(model, path);
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), path);
    return e.what();
  }
  return "";
}

// Debian's python3 (the pyenv `python3` on PATH has no torch). Checked once: importing torch takes a second.
bool python_available(bool with_torch) {
  if (!with_torch) {
    static const bool python = testing::run_command("/usr/bin/python3 -c 'import json' 2>&1").exit_code == 0;
    return python;
  }
  static const bool torch = testing::run_command("/usr/bin/python3 -c 'import torch' 2>&1").exit_code == 0;
  return torch;
}

#define REQUIRE_PYTHON(with_torch)                                                     \
  do {                                                                                 \
    if (!python_available(with_torch)) {                                               \
      std::fprintf(stderr, "\n*** SKIPPED: /usr/bin/python3%s is not available ***\n", \
                   (with_torch) ? " with torch" : "");                                 \
      GTEST_SKIP() << "/usr/bin/python3 not available";                                \
    }                                                                                  \
  } while (0)

TEST(ModelsTensorIo, TorchTensorsRoundTripEveryDtype) {
  torch::manual_seed(1);
  std::vector<torch::Tensor> tensors = {
      torch::randn({3, 4}),
      torch::randn({2}, torch::kFloat64),
      torch::randint(-1000, 1000, {5}, torch::kLong),
      torch::randint(-1000, 1000, {2, 2}, torch::kInt),
      torch::randint(0, 255, {6}, torch::kByte),
      torch::rand({4}) > 0.5,
      torch::randn({3}).to(torch::kHalf),
      torch::randn({3}).to(torch::kBFloat16),
      torch::tensor(2.5),        // scalar
      torch::zeros({0, 3}),      // empty
      torch::randn({4, 3}).t(),  // non-contiguous view
  };
  for (const auto& tensor : tensors) {
    auto stored = to_safetensors(tensor);
    EXPECT_EQ(stored.data.size(), size_t(tensor.numel()) * tensor.element_size());
    auto back = to_torch(stored);
    EXPECT_EQ(back.scalar_type(), tensor.scalar_type());
    EXPECT_TRUE(torch::equal(back, tensor)) << tensor;
  }
  EXPECT_THROW_WITH(to_safetensors(torch::zeros({2}, torch::kComplexFloat)), Error,
                    {"safetensors", "cannot store torch dtype ComplexFloat"});
}

TEST(ModelsTensorIo, SaveThenLoadRestoresEveryParameterAndMetadata) {
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  auto source = seeded_model(lstm_config(), 1);
  auto target = seeded_model(lstm_config(), 2);
  ASSERT_FALSE(same_parameters(*source, *target));

  save_module_safetensors(*source, path, {{"config", source->config().to_json().dump()}});
  auto file = safetensors::read(path);
  std::vector<std::string> names;
  for (const auto& [name, unused] : file.tensors) names.push_back(name);
  auto expected_names = source->named_parameters().keys();
  std::sort(expected_names.begin(), expected_names.end());
  EXPECT_EQ(names, expected_names);

  auto metadata = load_module_safetensors(*target, path);
  EXPECT_TRUE(same_parameters(*source, *target));
  EXPECT_EQ(ModelConfig::from_json(nlohmann::json::parse(metadata.at("config"))).to_json(), source->config().to_json());
  auto input = torch::randint(9, {2, 4}, torch::kLong);
  EXPECT_TRUE(torch::equal(source->forward(input), target->forward(input)));
}

TEST(ModelsTensorIo, MissingTensorIsNamedAndNothingIsLoaded) {
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  auto source = seeded_model(lstm_config(), 1);
  save_module_safetensors(*source, path);
  auto file = safetensors::read(path);
  file.tensors.erase("rnn.weight_hh_l1");
  safetensors::write(path, file);

  auto target = seeded_model(lstm_config(), 2);
  auto before = seeded_model(lstm_config(), 2);
  std::string error = load_error(*target, path);
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
  EXPECT_NE(error.find("rnn.weight_hh_l1"), std::string::npos) << error;
  EXPECT_TRUE(same_parameters(*target, *before)) << "a failed load must not change the model";
}

TEST(ModelsTensorIo, UnexpectedAndMisshapenTensorsAreNamedWithBothShapes) {
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  auto source = seeded_model(lstm_config(), 1);
  save_module_safetensors(*source, path);
  auto file = safetensors::read(path);
  file.tensors["rnn.weight_ih_l7"] = file.tensors.at("rnn.weight_ih_l1");
  file.tensors["head.weight"] = to_safetensors(torch::zeros({9, 8}));
  safetensors::write(path, file);

  auto target = seeded_model(lstm_config(), 2);
  std::string error = load_error(*target, path);
  EXPECT_NE(error.find("match nothing in the model (1): rnn.weight_ih_l7"), std::string::npos) << error;
  EXPECT_NE(error.find("head.weight (file F32 [9, 8], model Float [9, 7])"), std::string::npos) << error;

  // A model of another shape entirely (different hidden size) is refused, not half-loaded.
  ModelConfig wider = lstm_config();
  wider.hidden_size = 8;
  save_module_safetensors(*seeded_model(wider, 3), path);
  EXPECT_NE(load_error(*target, path).find("dtype or shape differs"), std::string::npos);

  // And a dtype mismatch: a float64 copy of the right shapes.
  auto as_double = seeded_model(lstm_config(), 4);
  as_double->to(torch::kFloat64);
  save_module_safetensors(*as_double, path);
  EXPECT_NE(load_error(*target, path).find("F64"), std::string::npos);
}

TEST(ModelsTensorIo, TruncatedOrCorruptModelFileFailsLoudly) {
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  save_module_safetensors(*seeded_model(lstm_config(), 1), path);
  auto bytes = read_file_bytes(path);
  auto target = seeded_model(lstm_config(), 2);

  write_file_atomic(path, std::span<const uint8_t>(bytes.data(), bytes.size() - 10));
  std::string error = load_error(*target, path);
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;

  write_file_atomic(path, std::span<const uint8_t>(bytes.data(), 20));
  EXPECT_NE(load_error(*target, path).find("runs past the end of the file"), std::string::npos);

  write_file_atomic(path, std::string_view("not a model"));
  EXPECT_FALSE(load_error(*target, path).empty());
  EXPECT_THROW_WITH(load_module_safetensors(*target, dir.file("absent.safetensors")), IoError,
                    {dir.file("absent.safetensors"), "cannot open"});
}

TEST(ModelsTensorIo, PrefixSelectsOneModelInASharedFile) {
  auto a = seeded_model(lstm_config(), 1);
  auto b = seeded_model(lstm_config(), 2);
  safetensors::TensorFile file;
  file.tensors = module_tensors(*a, "model.");
  auto other = module_tensors(*b, "ema.");
  file.tensors.insert(other.begin(), other.end());
  file.tensors["step"] = safetensors::Tensor::from_i64({}, std::vector<int64_t>{42});

  auto target = seeded_model(lstm_config(), 3);
  load_module_tensors(*target, file, "shared", "ema.");
  EXPECT_TRUE(same_parameters(*target, *b));
  load_module_tensors(*target, file, "shared", "model.");
  EXPECT_TRUE(same_parameters(*target, *a));
  EXPECT_THROW_WITH(load_module_tensors(*target, file, "shared", ""), FormatError,
                    {"shared", "does not fit the model", "missing tensors the model needs (11)", "embedding.weight",
                     "match nothing in the model (23)"});  // "step" etc. match nothing
}

TEST(ModelsTensorIo, PythonStandardLibraryReaderSeesOurNamesShapesMetadataAndValues) {
  REQUIRE_PYTHON(false);
  testing::TempDir dir;
  std::string path = dir.file("model.safetensors");
  auto model = seeded_model(lstm_config(), 5);
  save_module_safetensors(*model, path, {{"note", "written by C++"}});

  auto result = testing::run_command("/usr/bin/python3 -B " + std::string(CADENZA_SOURCE_DIR) +
                                     "/scripts/read_safetensors.py --values " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto json = nlohmann::json::parse(result.output);
  EXPECT_EQ(json["metadata"]["note"], "written by C++");
  auto params = model->named_parameters();
  ASSERT_EQ(json["tensors"].size(), params.size());
  for (const auto& item : params) {
    const auto& entry = json["tensors"][item.key()];
    ASSERT_TRUE(entry.is_object()) << item.key();
    EXPECT_EQ(entry["dtype"], "F32");
    EXPECT_EQ(entry["shape"].get<std::vector<int64_t>>(), item.value().sizes().vec());
    auto values = entry["values"].get<std::vector<double>>();
    auto flat = item.value().detach().flatten();
    ASSERT_EQ(int64_t(values.size()), flat.numel());
    for (int64_t i = 0; i < flat.numel(); ++i) ASSERT_EQ(float(values[i]), flat[i].item<float>()) << item.key();
  }

  // The reader also rejects a malformed file with the file name in the message.
  write_file_atomic(dir.file("bad.safetensors"), std::string_view("\x08\0\0\0\0\0\0\0{\"a\":1} ", 16));
  auto bad = testing::run_command("/usr/bin/python3 -B " + std::string(CADENZA_SOURCE_DIR) +
                                  "/scripts/read_safetensors.py " + dir.file("bad.safetensors") + " 2>&1");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("bad.safetensors"), std::string::npos) << bad.output;
}

TEST(ModelsTensorIo, PyTorchLoadsOurCheckpointStrictlyAndComputesTheSameLogits) {
  REQUIRE_PYTHON(true);
  testing::TempDir dir;
  const std::string source = CADENZA_SOURCE_DIR;
  // For each (model, input, output) triple of files: the reference model of the fixtures script, built from the
  // config in the metadata, load_state_dict(strict=True) of our tensors, forward, logits written back.
  const std::string script = R"PY(
import json, sys
import torch
source, paths = sys.argv[1], sys.argv[2:]
sys.path[:0] = [source + "/scripts", source + "/tests/fixtures"]
from read_safetensors import read_safetensors
from make_model_fixtures import model_from_config
from safetensors_writer import write_safetensors
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "BOOL": torch.bool}
def load(path):
    metadata, tensors = read_safetensors(path)
    return metadata, {name: torch.frombuffer(bytearray(raw), dtype=DTYPES[dtype]).reshape(shape)
                      for name, (dtype, shape, raw) in tensors.items()}
for model_path, input_path, output_path in zip(paths[0::3], paths[1::3], paths[2::3]):
    metadata, state = load(model_path)
    model = model_from_config(json.loads(metadata["config"]))
    model.load_state_dict(state, strict=True)
    model.eval()
    _, inputs = load(input_path)
    with torch.no_grad():
        write_safetensors(output_path, {"logits": model(inputs["input"])})
)PY";
  write_file_atomic(dir.file("run_reference.py"), script);

  struct Case {
    std::string family;
    InputKind kind;
    bool residual;
    std::shared_ptr<SequenceModelImpl> model;
    torch::Tensor input;
  };
  std::vector<Case> cases = {{"gru", InputKind::kTokens, true, nullptr, {}},
                             {"lstm", InputKind::kFrames, false, nullptr, {}},
                             {"rnn", InputKind::kFrames, true, nullptr, {}}};
  std::string arguments;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    ModelConfig config = lstm_config();
    config.family = c.family;
    config.input_kind = c.kind;
    config.residual = c.residual;
    c.model = seeded_model(config, 6 + i);
    c.model->eval();
    const std::string stem = dir.file(std::to_string(i));
    save_module_safetensors(*c.model, stem + ".model.safetensors", {{"config", config.to_json().dump()}});
    c.input = c.kind == InputKind::kTokens ? torch::randint(9, {2, 6}, torch::kLong)
                                           : torch::bernoulli(torch::full({2, 6, 9}, 0.4));
    safetensors::TensorFile inputs;
    inputs.tensors["input"] = to_safetensors(c.input);
    safetensors::write(stem + ".input.safetensors", inputs);
    arguments += " " + stem + ".model.safetensors " + stem + ".input.safetensors " + stem + ".logits.safetensors";
  }

  auto result =
      testing::run_command("/usr/bin/python3 -B " + dir.file("run_reference.py") + " " + source + arguments + " 2>&1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto python_logits =
        to_torch(safetensors::read(dir.file(std::to_string(i) + ".logits.safetensors")).tensors.at("logits"));
    torch::NoGradGuard no_grad;
    auto logits = cases[i].model->forward(cases[i].input);
    ASSERT_EQ(python_logits.sizes(), logits.sizes());
    EXPECT_LT((python_logits - logits).abs().max().item<double>(), 1e-5) << cases[i].family;
  }
}

}  // namespace
}  // namespace cadenza::models
