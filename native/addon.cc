// Module init: registers the functions of the other native files, nothing else.
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  memif::InitSeqpacket(env, exports);
  memif::InitShm(env, exports);
  memif::InitEventfd(env, exports);
  memif::InitPoller(env, exports);
  memif::InitHandoff(env, exports);
  memif::InitTap(env, exports);
  return exports;
}

NODE_API_MODULE(memif_native, Init)
