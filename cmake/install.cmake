# install.cmake — what `cmake --install` puts under the prefix:
#
#   bin/qkc (and qkc-run-aarch64, which `qkc run` looks for next to it)
#   lib/libqkrt.so.*, lib/libqkrt.a      the runtime, shared and static
#   include/qkc/*.h                      the public headers
#   lib/cmake/qkc/                       find_package(qkc): qkc::qkc, qkc::qkrt,
#                                        qkc::qkrt_static, qkc_add_model()
#   lib/pkgconfig/qkrt.pc                pkg-config --cflags --libs qkrt
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

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
