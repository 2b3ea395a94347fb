// Deliberate memory errors, compiled only into the AddressSanitizer build
// (scripts/build-native-asan.mjs), never into the shipped addon. scripts/test-asan.mjs calls each in
// a child node and expects the sanitizer to kill it with a report naming the error: if it does not,
// the sanitizer run proves nothing and fails.
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

// Keeps the compiler from seeing through the pointer games below.
static void* volatile g_sink;

static napi_value UseAfterFree(napi_env env, napi_callback_info info) {
  (void)info;
  char* p = malloc(64);
  memset(p, 1, 64);
  g_sink = p;
  free(p);
  char* q = g_sink;
  napi_value v;
  napi_create_int32(env, q[8], &v);  // heap-use-after-free
  return v;
}

static napi_value DoubleFree(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  void* p = malloc(64);
  g_sink = p;
  free(p);
  free(g_sink);  // attempting double-free
  return NULL;
}

static napi_value HeapOverflow(napi_env env, napi_callback_info info) {
  (void)info;
  char* p = malloc(64);
  memset(p, 1, 64);
  g_sink = p;
  volatile int i = 64;
  napi_value v;
  napi_create_int32(env, ((char*)g_sink)[i], &v);  // heap-buffer-overflow
  free(p);
  return v;
}

static napi_value SignedOverflow(napi_env env, napi_callback_info info) {
  (void)info;
  volatile int big = 0x7fffffff;
  int r = big + 1;  // runtime error: signed integer overflow
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}

static napi_value UseAfterUnmap(napi_env env, napi_callback_info info) {
  (void)info;
  char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  p[0] = 1;
  g_sink = p;
  munmap(p, 4096);
  napi_value v;
  napi_create_int32(env, ((volatile char*)g_sink)[0], &v);  // SEGV on unknown address
  return v;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"useAfterFree", NULL, UseAfterFree, NULL, NULL, NULL, napi_default, NULL},
      {"doubleFree", NULL, DoubleFree, NULL, NULL, NULL, napi_default, NULL},
      {"heapOverflow", NULL, HeapOverflow, NULL, NULL, NULL, napi_default, NULL},
      {"useAfterUnmap", NULL, UseAfterUnmap, NULL, NULL, NULL, napi_default, NULL},
      {"signedOverflow", NULL, SignedOverflow, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
