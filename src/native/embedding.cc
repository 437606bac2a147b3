#include "napi_util.h"
namespace hcx {
void register_embedding(napi_env, napi_value) {}
}  // namespace hcx
