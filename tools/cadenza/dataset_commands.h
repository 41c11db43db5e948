// `cadenza dataset ...` is split over several files; cmd_dataset.cpp creates the "dataset" command and calls
// these to add the subcommands that live elsewhere.
#pragma once

#include <CLI/CLI.hpp>

namespace cadenza::cli {

void setup_dataset_fetch(CLI::App& dataset);  // cmd_dataset_fetch.cpp

}  // namespace cadenza::cli
