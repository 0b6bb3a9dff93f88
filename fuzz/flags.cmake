# fuzz/flags.cmake — compile flags of a -DQKC_FUZZ=ON build (included by the
# top-level CMakeLists.txt before any target): every library is instrumented
# for libFuzzer's coverage feedback and built with ASan+UBSan; only the
# targets in fuzz/ link libFuzzer's main (-fsanitize=fuzzer).
if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "QKC_FUZZ=ON needs clang with libFuzzer: configure with -DCMAKE_C_COMPILER=clang-19")
endif()
if(QKC_SANITIZE)
  message(FATAL_ERROR "QKC_FUZZ=ON already builds with ASan+UBSan; leave QKC_SANITIZE off")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
