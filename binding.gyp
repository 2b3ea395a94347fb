{
  "targets": [
    {
      "target_name": "memif_native",
      "sources": [
        "native/addon.cc",
        "native/seqpacket.cc",
        "native/shm.cc",
        "native/eventfd.cc",
        "native/poller.cc",
        "native/handoff.cc",
        "native/netns.cc",
        "native/tap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
