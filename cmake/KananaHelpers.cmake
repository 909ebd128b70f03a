# Helper functions shared by every CMakeLists.txt in the tree.

# kanana_core_library(NAME SOURCES ... [TORCH] [LINKS ...])
# A Qt-free shared library under core/. Headers are included as "<module>/<file>.h"
# relative to core/. TORCH marks libraries whose sources include LibTorch; they reuse one
# precompiled header so each translation unit does not re-parse <torch/torch.h> (~45 s here).
function(kanana_core_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;LINKS" ${ARGN})
  add_library(${name} SHARED ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(${name} PUBLIC ${ARG_LINKS})
  set_target_properties(${name} PROPERTIES DEFINE_SYMBOL "")
  set_property(GLOBAL APPEND PROPERTY KANANA_CORE_LIBRARIES ${name})
  install(TARGETS ${name} LIBRARY DESTINATION ${KANANA_INSTALL_LIBDIR})
  if(ARG_TORCH)
    target_link_libraries(${name} PUBLIC torch)
    kanana_use_torch_pch(${name})
    kanana_unity_build(${name})
  endif()
endfunction()

# Compile a LibTorch-heavy target in unity batches of KANANA_UNITY_BATCH_SIZE sources: most
# of a Torch translation unit's time is the inline LibTorch code every unit instantiates and
# optimises again, which a batch does once. Sources of one target must therefore not define
# file-local names twice (a batch that does fails to compile with a redefinition).
function(kanana_unity_build target)
  if(KANANA_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${KANANA_UNITY_BATCH_SIZE})
  endif()
endfunction()

# Reuse the precompiled LibTorch header from kanana_torch_pch (core/CMakeLists.txt).
function(kanana_use_torch_pch target)
  if(KANANA_USE_PCH AND TARGET kanana_torch_pch)
    target_precompile_headers(${target} REUSE_FROM kanana_torch_pch)
    # The header was precompiled with -fPIC; GCC ignores it for a -fPIE executable, so
    # executables that reuse it compile as PIC too (they still link as PIE).
    # AUTOMOC's mocs_compilation.cpp has only Qt code: loading the 600 MB Torch header for it
    # cost as much as compiling a Torch source.
    get_target_property(automoc ${target} AUTOMOC)
    if(automoc)
      get_target_property(bindir ${target} BINARY_DIR)
      set_source_files_properties(${bindir}/${target}_autogen/mocs_compilation.cpp
        TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
      target_compile_options(${target} PRIVATE -fPIC)
    endif()
  endif()
endfunction()

# kanana_add_test(NAME SOURCES ... [LINKS ...] [TORCH] [LABELS ...] [TIMEOUT s])
# A Qt Test executable registered with CTest. Tests run from the build tree with
# KANANA_SOURCE_DIR and KANANA_BUILD_DIR in the environment; GUI tests are offscreen.
function(kanana_add_test name)
  cmake_parse_arguments(ARG "TORCH" "TIMEOUT" "SOURCES;LINKS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES AUTOMOC ON RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE Qt6::Test ${ARG_LINKS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/common)
  if(ARG_TORCH)
    target_link_libraries(${name} PRIVATE torch)
    kanana_use_torch_pch(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT}
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;KANANA_SOURCE_DIR=${PROJECT_SOURCE_DIR};KANANA_BUILD_DIR=${CMAKE_BINARY_DIR};OMP_NUM_THREADS=2")
endfunction()

# Add every immediate subdirectory of the current source dir that has a CMakeLists.txt,
# so modules can be added without editing a shared list.
function(kanana_add_all_subdirectories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
