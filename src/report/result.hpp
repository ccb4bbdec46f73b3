// Temporary forwarding header: the result JSON skeleton and its text renderer are application
// code and live in checks/result_json.hpp.  Remove this file once no library file includes it.
#pragma once
#include "checks/result_json.hpp"
