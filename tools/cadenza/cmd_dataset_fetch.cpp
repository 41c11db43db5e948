// `cadenza dataset fetch NAME`: download a known data set, verify it against its manifest and install it in the
// cache. The installed folder's path is the last line on stdout, so `dir=$(cadenza dataset fetch nottingham)`.
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "data/dataset_registry.h"
#include "data/fetch.h"
#include "dataset_commands.h"

namespace cadenza::cli {

namespace {

struct DatasetFetchOptions {
  std::string name;
  std::string from;
  std::string cache;
  std::string sha256;
  bool force = false;
};

void run_dataset_fetch(const DatasetFetchOptions& options) {
  const DatasetSpec& spec = find_dataset(options.name);
  FetchOptions fetch;
  fetch.source = options.from;
  fetch.cache_dir = options.cache;
  fetch.archive_sha256 = options.sha256;
  fetch.force = options.force;
  fetch.download.show_progress = stderr_is_terminal();
  fetch.log = [](const std::string& message) { std::fprintf(stderr, "%s\n", message.c_str()); };
  FetchResult result = fetch_dataset(spec, fetch);
  std::printf("%s\n", result.path.string().c_str());
}

}  // namespace

void setup_dataset_fetch(CLI::App& dataset) {
  auto options = std::make_shared<DatasetFetchOptions>();
  std::string catalogue = "Data sets:";
  for (const auto& spec : dataset_registry()) {
    catalogue += "\n  " + spec.name + ": " + spec.description + "\n    " + spec.homepage + "; licence: " + spec.licence;
  }
  catalogue += "\nThe installed folder's path is printed last on stdout. See docs/datasets.md.";
  CLI::App* command = dataset.add_subcommand(
      "fetch", "Download a data set, verify every file against its manifest, install it in the cache");
  command->footer(catalogue);
  command->add_option("name", options->name, "Data set to fetch")->required()->check(CLI::IsMember(dataset_names()));
  command
      ->add_option("--from", options->from,
                   "Where to get it: an http(s):// or file:// URL of an archive, a local .tar.gz/.tgz/.tar/.zip, or a "
                   "folder holding the files (default: the data set's GitHub archive)")
      ->capture_default_str();
  command
      ->add_option("--cache", options->cache,
                   "Cache folder; the data set lands in CACHE/NAME (default: $XDG_CACHE_HOME/cadenza/datasets or "
                   "~/.cache/cadenza/datasets)")
      ->capture_default_str();
  command->add_option("--sha256", options->sha256, "Also require the archive itself to have this SHA-256 (hex)")
      ->capture_default_str();
  command->add_flag("--force", options->force, "Download and install again even if a verified copy is present")
      ->capture_default_str();
  command->callback([options] { run_dataset_fetch(*options); });
}

}  // namespace cadenza::cli
