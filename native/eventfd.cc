// eventfd: create (non-blocking, counter mode), signal (write u64 1), drain (read the counter),
// and signalMany, which kicks several queues' eventfds in one native call at the end of a burst.
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"

namespace memif {
namespace {

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, "eventfd", errno);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// Returns 0, or the errno of a failed write. EAGAIN (counter at its maximum) counts as success:
// the consumer has an unread wake-up pending anyway.
int SignalOne(int fd) {
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return errno;
  return 0;
}

// signal(fd): 0 on success, else errno (not thrown: a dead peer's eventfd must not break a burst).
Napi::Value Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  return Napi::Number::New(env, SignalOne(info[0].As<Napi::Number>().Int32Value()));
}

// signalMany(fds: Int32Array, count): number of failed writes.
Napi::Value SignalMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTyped(info, 0, "fds") || !CheckInt(info, 1, "count")) return env.Null();
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array) {
    Napi::TypeError::New(env, "fds must be an Int32Array").ThrowAsJavaScriptException();
    return env.Null();
  }
  const int32_t* fds = reinterpret_cast<const int32_t*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  size_t count = static_cast<size_t>(info[1].As<Napi::Number>().Uint32Value());
  if (count > ta.ElementLength()) count = ta.ElementLength();
  int failed = 0;
  for (size_t i = 0; i < count; i++) {
    if (SignalOne(fds[i]) != 0) failed++;
  }
  return Napi::Number::New(env, failed);
}

// drain(fd): the counter's value (how many signals were coalesced), or 0 if none was pending.
Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t value = 0;
  ssize_t n;
  do {
    n = read(fd, &value, sizeof(value));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return Napi::Number::New(env, 0);
    ThrowErrno(env, "read", errno);
    return env.Null();
  }
  return Napi::Number::New(env, static_cast<double>(value));
}

}  // namespace

void InitEventfd(Napi::Env env, Napi::Object exports) {
  exports.Set("eventfdCreate", Napi::Function::New(env, Create, "eventfdCreate"));
  exports.Set("eventfdSignal", Napi::Function::New(env, Signal, "eventfdSignal"));
  exports.Set("eventfdSignalMany", Napi::Function::New(env, SignalMany, "eventfdSignalMany"));
  exports.Set("eventfdDrain", Napi::Function::New(env, Drain, "eventfdDrain"));
}

}  // namespace memif
