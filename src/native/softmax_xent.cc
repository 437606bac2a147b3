#include "napi_util.h"
namespace hcx {
void register_softmax_xent(napi_env, napi_value) {}
}  // namespace hcx
