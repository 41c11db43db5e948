// Constructors of each token encoding from its JSON spec, used by make_token_encoding().
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "encoding/encoding.h"

namespace cadenza {

std::unique_ptr<TokenEncoding> make_melody_encoding(const nlohmann::json& spec);       // melody.cpp
std::unique_ptr<TokenEncoding> make_performance_encoding(const nlohmann::json& spec);  // performance.cpp
std::unique_ptr<TokenEncoding> make_remi_encoding(const nlohmann::json& spec);         // remi.cpp

}  // namespace cadenza
