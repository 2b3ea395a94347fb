// Poller: fd readiness through libuv's uv_poll, so nothing blocks the event loop.
// new Poller(fd, callback(status, events)); start(events) / stop() / close().
// close() removes the fd from epoll at once (uv_close), so the owner may close the fd right after;
// no callback runs after close(). An exception thrown by the callback is reported as uncaught.
#include "common.h"

namespace memif {
namespace {

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "Poller",
                                     {
                                         InstanceMethod("start", &Poller::Start),
                                         InstanceMethod("stop", &Poller::Stop),
                                         InstanceMethod("close", &Poller::Close),
                                     });
    exports.Set("Poller", cls);
    exports.Set("READABLE", Napi::Number::New(env, UV_READABLE));
    exports.Set("WRITABLE", Napi::Number::New(env, UV_WRITABLE));
    exports.Set("DISCONNECT", Napi::Number::New(env, UV_DISCONNECT));
  }

  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (!CheckInt(info, 0, "fd")) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "callback must be a function").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    handle_ = new Handle();
    handle_->owner = this;
    int r = uv_poll_init(loop, &handle_->poll, info[0].As<Napi::Number>().Int32Value());
    if (r != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowErrno(env, "uv_poll_init", -r);
      return;
    }
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  }

  ~Poller() override { CloseHandle(); }

 private:
  struct Handle {
    uv_poll_t poll;
    Poller* owner;
  };

  static void OnPoll(uv_poll_t* p, int status, int events) {
    Handle* h = reinterpret_cast<Handle*>(p);
    Poller* self = h->owner;
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->callback_.MakeCallback(self->Value(), {Napi::Number::New(env, status), Napi::Number::New(env, events)});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  static void OnClose(uv_handle_t* p) { delete reinterpret_cast<Handle*>(p); }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), OnClose);
    handle_ = nullptr;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckInt(info, 0, "events")) return env.Null();
    if (handle_ == nullptr) {
      Napi::Error::New(env, "poller is closed").ThrowAsJavaScriptException();
      return env.Null();
    }
    int r = uv_poll_start(&handle_->poll, info[0].As<Napi::Number>().Int32Value(), OnPoll);
    if (r != 0) {
      ThrowErrno(env, "uv_poll_start", -r);
      return env.Null();
    }
    // While polling, the JS object must outlive GC: the callback refers to it.
    if (!referenced_) {
      Ref();
      referenced_ = true;
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(&handle_->poll);
    Release();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    Release();
    // The callback usually closes over its owner: holding it past close() would keep the owner
    // (and everything it references) alive forever. OnPoll never runs after CloseHandle().
    callback_.Reset();
    return info.Env().Undefined();
  }

  void Release() {
    if (referenced_) {
      referenced_ = false;
      Unref();
    }
  }

  Handle* handle_ = nullptr;
  Napi::FunctionReference callback_;
  bool referenced_ = false;
};

}  // namespace

void InitPoller(Napi::Env env, Napi::Object exports) { Poller::Init(env, exports); }

}  // namespace memif
