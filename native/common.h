// Shared helpers of the native layer: argument checks and errno errors.
// Policy (what is legal, what to retry) lives in TypeScript; this file only shapes errors.
#pragma once
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <uv.h>

namespace memif {

// Throws a JS Error carrying errno, its symbolic code (e.g. "ECONNREFUSED") and the failing call.
inline void ThrowErrno(Napi::Env env, const char* syscall, int err) {
  std::string msg = std::string(syscall) + ": " + std::strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

inline bool CheckInt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

inline bool CheckString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

inline bool CheckTyped(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// What a function run in another network namespace returns: an fd (or -1 with errno and the
// failing call). See native/netns.cc.
struct NetnsResult {
  int fd;
  int err;
  const char* syscall;
};
using NetnsFn = NetnsResult (*)(void* arg);

// Runs fn(arg) on a helper thread inside the network namespace of nsFd (an open /proc/PID/ns/net
// or /var/run/netns/NAME), joined before returning; nsFd < 0 runs it here, in our own namespace.
// nsFd stays the caller's.
NetnsResult RunInNetns(int nsFd, NetnsFn fn, void* arg);

void InitSeqpacket(Napi::Env env, Napi::Object exports);
void InitShm(Napi::Env env, Napi::Object exports);
void InitEventfd(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitHandoff(Napi::Env env, Napi::Object exports);
void InitTap(Napi::Env env, Napi::Object exports);

}  // namespace memif
