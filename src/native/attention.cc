#include "napi_util.h"
namespace hcx {
void register_attention(napi_env, napi_value) {}
}  // namespace hcx
