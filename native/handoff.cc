// Hand-off of fds between threads (a queue posted to a worker): each fd has exactly one owner at
// every moment, whatever happens to the threads.
//   handoffCreate(fds): duplicates fds into a process-wide table and returns a token (a number that
//     survives structured clone). The table owns the duplicates.
//   handoffClaim(token): moves them out of the table into a new OwnedFds object, once; a second
//     claim (or an unknown token) returns null and touches no fd.
//   handoffSizes(token): the file sizes of its fds, without claiming them (attach checks a handle
//     against them first, so an altered handle is refused with every fd left where it was).
//   handoffDiscard(token): closes them if nobody claimed them (the interface disconnected or closed
//     before a worker attached).
//   OwnedFds: fd(i) reads fd i, take(i) hands it over to the caller; close() closes what was not
//     taken. Its fds are
//     also closed when it is garbage-collected or when its thread's environment is torn down (a
//     worker terminated without close()), so they cannot leak.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace memif {
namespace {

std::mutex g_mutex;
std::unordered_map<uint32_t, std::vector<int>> g_table;
uint32_t g_next = 1;

void CloseAll(std::vector<int>* fds) {
  for (int& fd : *fds) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTyped(info, 0, "fds")) return env.Null();
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array) {
    Napi::TypeError::New(env, "fds must be an Int32Array").ThrowAsJavaScriptException();
    return env.Null();
  }
  Napi::Int32Array arr = ta.As<Napi::Int32Array>();
  std::vector<int> dups;
  dups.reserve(arr.ElementLength());
  for (size_t i = 0; i < arr.ElementLength(); i++) {
    int d = fcntl(arr[i], F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
      int err = errno;
      CloseAll(&dups);
      ThrowErrno(env, "fcntl", err);
      return env.Null();
    }
    dups.push_back(d);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  uint32_t token = g_next++;
  if (g_next == 0) g_next = 1;
  g_table.emplace(token, std::move(dups));
  return Napi::Number::New(env, token);
}

// The token in argument 0, if it is one (an integer from 1 to 2^32 - 1).
bool TokenArg(const Napi::CallbackInfo& info, uint32_t* token) {
  if (info.Length() < 1 || !info[0].IsNumber()) return false;
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *token = static_cast<uint32_t>(d);
  return true;
}

bool Take(const Napi::CallbackInfo& info, std::vector<int>* out) {
  uint32_t token;
  if (!TokenArg(info, &token)) return false;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_table.find(token);
  if (it == g_table.end()) return false;
  *out = std::move(it->second);
  g_table.erase(it);
  return true;
}

// handoffSizes(token): the size (fstat st_size; -1 if fstat fails) of each fd of an unclaimed
// token, without claiming it, so that attach() can refuse an altered handle before it owns (and
// would have to close) anything; null if the token is unknown or claimed already.
Napi::Value Sizes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t token;
  if (!TokenArg(info, &token)) return env.Null();
  std::vector<double> sizes;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_table.find(token);
    if (it == g_table.end()) return env.Null();
    for (int fd : it->second) {
      struct stat st;
      sizes.push_back(fstat(fd, &st) == 0 ? static_cast<double>(st.st_size) : -1);
    }
  }
  Napi::Array arr = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, sizes[i]));
  return arr;
}

Napi::Value Discard(const Napi::CallbackInfo& info) {
  std::vector<int> fds;
  bool found = info.Length() > 0 && Take(info, &fds);
  CloseAll(&fds);
  return Napi::Boolean::New(info.Env(), found);
}

class OwnedFds : public Napi::ObjectWrap<OwnedFds> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "OwnedFds",
                       {
                           InstanceMethod("fd", &OwnedFds::PeekFd),
                           InstanceMethod("take", &OwnedFds::TakeFd),
                           InstanceMethod("close", &OwnedFds::Close),
                           InstanceAccessor("count", &OwnedFds::Count, nullptr),
                       });
  }

  explicit OwnedFds(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OwnedFds>(info) {}

  ~OwnedFds() override { Release(); }

  void Adopt(std::vector<int>&& fds) {
    fds_ = std::move(fds);
    if (fds_.empty()) return;
    hooked_ = napi_add_env_cleanup_hook(Env(), OnEnvTeardown, this) == napi_ok;
  }

 private:
  static void OnEnvTeardown(void* arg) {
    OwnedFds* self = static_cast<OwnedFds*>(arg);
    self->hooked_ = false;  // the hook is being run: do not remove it
    CloseAll(&self->fds_);
  }

  void Release() {
    CloseAll(&fds_);
    if (hooked_) {
      hooked_ = false;
      napi_remove_env_cleanup_hook(Env(), OnEnvTeardown, this);
    }
  }

  // The slot of index argument 0, or nullptr (out of range: fd(i) and take(i) then return -1).
  int* Slot(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) return nullptr;
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < static_cast<double>(fds_.size())) || d != static_cast<double>(static_cast<size_t>(d))) {
      return nullptr;
    }
    return &fds_[static_cast<size_t>(d)];
  }

  // fd(i): fd i, still owned by this object (-1 once taken or closed).
  Napi::Value PeekFd(const Napi::CallbackInfo& info) {
    int* slot = Slot(info);
    return Napi::Number::New(info.Env(), slot == nullptr ? -1 : *slot);
  }

  // take(i): fd i, now the caller's, or -1 if it was taken already or i is out of range.
  Napi::Value TakeFd(const Napi::CallbackInfo& info) {
    int* slot = Slot(info);
    int fd = slot == nullptr ? -1 : *slot;
    if (slot != nullptr) *slot = -1;
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(fds_.size()));
  }

  std::vector<int> fds_;
  bool hooked_ = false;
};

// The OwnedFds constructor, per environment (main thread and each worker have their own).
struct PerEnv {
  Napi::FunctionReference ownedFds;
};

Napi::Value Claim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> fds;
  if (info.Length() < 1 || !Take(info, &fds)) return env.Null();
  PerEnv* per = static_cast<PerEnv*>(info.Data());
  Napi::Object obj = per->ownedFds.New({});
  if (env.IsExceptionPending()) {
    CloseAll(&fds);
    return env.Null();
  }
  OwnedFds::Unwrap(obj)->Adopt(std::move(fds));
  return obj;
}

}  // namespace

void InitHandoff(Napi::Env env, Napi::Object exports) {
  PerEnv* per = new PerEnv();
  Napi::Function cls = OwnedFds::Define(env);
  per->ownedFds = Napi::Persistent(cls);
  // Registered before any OwnedFds hook, so it runs after them (hooks run in reverse order).
  napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<PerEnv*>(p); }, per);
  exports.Set("handoffCreate", Napi::Function::New(env, Create, "handoffCreate"));
  exports.Set("handoffClaim", Napi::Function::New(env, Claim, "handoffClaim", per));
  exports.Set("handoffDiscard", Napi::Function::New(env, Discard, "handoffDiscard"));
  exports.Set("handoffSizes", Napi::Function::New(env, Sizes, "handoffSizes"));
}

}  // namespace memif
