# qkcAddModel.cmake — qkc_add_model(): compile an ONNX model at build time.
#
#   qkc_add_model(TARGET name MODEL model.onnx [PRECISION p] [CALIB data] [CPU cpu]
#                 [STATIC] [OPTIONS option...])
#
# Runs `qkc compile` (qkc::qkc) into ${CMAKE_CURRENT_BINARY_DIR}/qkc/<name>/,
# again whenever the model, the calibration data or qkc itself changes, and
# makes `name` a target to link:
#   - by default an INTERFACE library for the shared object <name>.so, which
#     the program loads with qkrt_model_load(); linking it brings the runtime
#     (qkc::qkrt) and builds the .so first. Its path is the target property
#     QKC_ARTIFACT: $<TARGET_PROPERTY:name,QKC_ARTIFACT>.
#   - STATIC: a static library holding the object file (--emit obj, symbol
#     prefix `name`) and the generated header <name>.h on its include path:
#     #include "name.h", call name_run() with no runtime at all, or wrap
#     name_artifact() with qkrt_model_from_artifact() (link qkc::qkrt too).
#     QKC_ARTIFACT is the object, QKC_HEADER the header.
# PRECISION, CALIB and CPU are `qkc compile`'s --precision, --calib and --cpu
# (CALIB: a .npy file, a directory of them, or NAME=FILE.npy; relative paths
# are from the current source directory); OPTIONS go to `qkc compile` as
# they are (e.g. OPTIONS --batch 1 --calib-method entropy).
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "qkc_add_model needs CMake 3.20 or newer (cmake_path); this is ${CMAKE_VERSION}")
endif()

function(qkc_add_model)
  cmake_parse_arguments(PARSE_ARGV 0 arg "STATIC" "TARGET;MODEL;PRECISION;CALIB;CPU" "OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "qkc_add_model: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if("${arg_TARGET}" STREQUAL "" OR "${arg_MODEL}" STREQUAL "")
    message(FATAL_ERROR "qkc_add_model: TARGET and MODEL are required")
  endif()
  if(NOT TARGET qkc::qkc)
    message(FATAL_ERROR "qkc_add_model: no qkc::qkc target (call find_package(qkc) first)")
  endif()
  set(name ${arg_TARGET})
  if(arg_STATIC AND NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR
      "qkc_add_model: a STATIC model's TARGET is its C symbol prefix; '${name}' is not a C identifier")
  endif()
  cmake_path(ABSOLUTE_PATH arg_MODEL NORMALIZE OUTPUT_VARIABLE model)
  if(NOT EXISTS "${model}")
    message(FATAL_ERROR "qkc_add_model(${name}): model ${model} not found")
  endif()

  set(args "")
  set(deps "${model}" "$<TARGET_FILE:qkc::qkc>")
  if(DEFINED arg_PRECISION)
    list(APPEND args --precision ${arg_PRECISION})
  endif()
  if(DEFINED arg_CPU)
    list(APPEND args --cpu ${arg_CPU})
  endif()
  if(DEFINED arg_CALIB)
    # NAME=FILE.npy names one input's data; otherwise a file or a directory.
    set(calib_name "")
    set(calib_path "${arg_CALIB}")
    if(arg_CALIB MATCHES "^([^=]+)=(.+)$" AND NOT EXISTS "${arg_CALIB}")
      set(calib_name "${CMAKE_MATCH_1}=")
      set(calib_path "${CMAKE_MATCH_2}")
    endif()
    cmake_path(ABSOLUTE_PATH calib_path NORMALIZE)
    if(IS_DIRECTORY "${calib_path}")
      # A file added to or removed from the directory re-runs the configure step.
      file(GLOB calib_files CONFIGURE_DEPENDS "${calib_path}/*.npy")
      list(APPEND deps ${calib_files})
    elseif(EXISTS "${calib_path}")
      list(APPEND deps "${calib_path}")
    else()
      message(FATAL_ERROR "qkc_add_model(${name}): calibration data ${calib_path} not found")
    endif()
    list(APPEND args --calib "${calib_name}${calib_path}")
  endif()
  list(APPEND args ${arg_OPTIONS})

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/qkc/${name})
  file(MAKE_DIRECTORY ${dir})
  cmake_path(GET model FILENAME shown)
  if(arg_STATIC)
    set(artifact ${dir}/${name}.o)
    set(header ${dir}/${name}.h)
    add_custom_command(
      OUTPUT ${artifact} ${header}
      COMMAND qkc::qkc compile ${model} -o ${artifact} --emit obj --header ${header} --prefix ${name} ${args}
      DEPENDS ${deps}
      COMMENT "qkc: compiling ${shown} to ${name}.o + ${name}.h"
      VERBATIM)
    set_source_files_properties(${artifact} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
    add_library(${name} STATIC ${artifact} ${header})
    set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C QKC_HEADER ${header})
    target_include_directories(${name} INTERFACE ${dir})
  else()
    set(artifact ${dir}/${name}.so)
    add_custom_command(
      OUTPUT ${artifact}
      COMMAND qkc::qkc compile ${model} -o ${artifact} ${args}
      DEPENDS ${deps}
      COMMENT "qkc: compiling ${shown} to ${name}.so"
      VERBATIM)
    add_custom_target(${name}_qkc DEPENDS ${artifact})
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE qkc::qkrt)
    add_dependencies(${name} ${name}_qkc)
  endif()
  set_target_properties(${name} PROPERTIES QKC_ARTIFACT ${artifact} QKC_MODEL ${model})
endfunction()
