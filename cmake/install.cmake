# install.cmake — what `cmake --install` puts under the prefix, and the .deb
# that `cpack -G DEB` (in the build folder) makes of it:
#
#   bin/qkc (and qkc-run-aarch64, which `qkc run` looks for next to it)
#   lib/libqkrt.so.*, lib/libqkrt.a      the runtime, shared and static
#   include/qkc/*.h                      the public headers
#   lib/cmake/qkc/                       find_package(qkc): qkc::qkc, qkc::qkrt,
#                                        qkc::qkrt_static, qkc_add_model()
#   lib/pkgconfig/qkrt.pc                pkg-config --cflags --libs qkrt
#   share/qkc/python/qkrt.py             the Python runner (ctypes over libqkrt.so)
#   share/doc/qkc/                       README.md and docs/
#
# Nothing installed names the prefix: the CMake package finds itself from its
# own directory, the .pc file from ${pcfiledir}; the tree may be moved.
include(CMakePackageConfigHelpers)

set(QKC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qkc)

install(TARGETS qkc qkrt qkrt_shared EXPORT qkcTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET qkc_run_aarch64)
  install(PROGRAMS ${CMAKE_BINARY_DIR}/qkc-run-aarch64 DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY include/qkc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

install(EXPORT qkcTargets NAMESPACE qkc:: DESTINATION ${QKC_CMAKE_DIR})
configure_package_config_file(cmake/qkcConfig.cmake.in ${CMAKE_BINARY_DIR}/qkcConfig.cmake
  INSTALL_DESTINATION ${QKC_CMAKE_DIR})
# 0.x: a minor version may change the runtime's interface.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/qkcConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/qkcConfig.cmake ${CMAKE_BINARY_DIR}/qkcConfigVersion.cmake
              cmake/qkcAddModel.cmake
        DESTINATION ${QKC_CMAKE_DIR})

cmake_path(RELATIVE_PATH CMAKE_INSTALL_PREFIX BASE_DIRECTORY ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig
           OUTPUT_VARIABLE QKRT_PC_TO_PREFIX)
configure_file(cmake/qkrt.pc.in ${CMAKE_BINARY_DIR}/qkrt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/qkrt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# python/qkrt.py (ctypes, finds libqkrt.so from its own place):
# PYTHONPATH=PREFIX/share/qkc/python python3 -m qkrt ...
install(FILES python/qkrt.py DESTINATION ${CMAKE_INSTALL_DATADIR}/qkc/python)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- cpack -G DEB (from the build folder) ----
# The Debian dependencies: what dpkg-shlibdeps finds for the installed qkc
# and libqkrt.so (libc, libLLVM, protobuf-c), and the linker qkc runs; an
# AArch64 artifact runs under qemu with the cross libc. Written here, not
# computed by CPACK_DEBIAN_PACKAGE_SHLIBDEPS: dpkg-shlibdeps fails on
# qkc-run-aarch64 (an AArch64 program in an amd64 package).
set(QKC_PACKAGE_CONTACT "qkc maintainers <maintainers@users.noreply.r-seed-972af562.example>"
    CACHE STRING "The Maintainer of the .deb")
set(CPACK_PACKAGE_NAME qkc)
set(CPACK_PACKAGE_VENDOR qkc)
set(CPACK_PACKAGE_CONTACT ${QKC_PACKAGE_CONTACT})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ahead-of-time compiler for neural-network inference (ONNX to native code)")
set(CPACK_PACKAGE_DESCRIPTION "qkc compiles an ONNX model into one small native shared object (or object file
and C header) for x86-64, AArch64 or NVPTX, with fp32, fp16 and int8 kernels
generated with LLVM for that model alone. Includes the runtime library
(libqkrt), its headers, a CMake package (find_package(qkc), qkc_add_model)
and a pkg-config file.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libllvm19, libprotobuf-c1 (>= 1.0.1), lld-19")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qemu-user, libc6-arm64-cross")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
include(CPack)
