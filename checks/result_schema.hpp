// Version of the JSON result contract (docs/schemas/*.schema.json).  Raised when a field is
// removed, renamed or changes type; adding a field does not raise it.
#pragma once

namespace attnbounds {

constexpr int kResultSchemaVersion = 1;

}  // namespace attnbounds
