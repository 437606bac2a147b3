#include "napi_util.h"
namespace hcx {
void register_bf16(napi_env, napi_value) {}
}  // namespace hcx
