#include "napi_util.h"
namespace hcx {
void register_rope(napi_env, napi_value) {}
}  // namespace hcx
