# Helper functions shared by every CMakeLists.txt in the tree.

# kanana_core_library(NAME SOURCES ... [TORCH] [LINKS ...])
# A Qt-free shared library under core/. Headers are included as "<module>/<file>.h"
# relative to core/. TORCH marks libraries whose sources include LibTorch; they reuse one
# precompiled header so each translation unit does not re-parse <torch/torch.h> (~45 s here).
function(kanana_core_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;LINKS" ${ARGN})
  if(ARG_TORCH AND KANANA_FUZZ)
    return()  # the fuzz build has no LibTorch; harnesses use the Torch-free libraries only
  endif()
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

# kanana_add_test(NAME SOURCES ... [LINKS ...] [TORCH] [STANDALONE] [LABELS ...] [TIMEOUT s]
#                 [DEFINES ...] [DEPENDS targets...])
# A Qt Test suite registered with CTest as NAME. Tests run from the build tree with
# KANANA_SOURCE_DIR and KANANA_BUILD_DIR in the environment; GUI tests are offscreen.
#
# The suites of one tests/<module> folder share one executable, tests_<module> (tests_<module>_torch
# for the TORCH ones, so Torch-free suites stay proven Torch-free), compiled in unity batches:
# parsing Qt Test and the project's headers, the AUTOMOC step and the link were most of each
# suite's build time, paid once per suite. A source ends with KANANA_TEST_[GUILESS_|APPLESS_]MAIN
# (tests/common/test_main.h); CTest runs `tests_<module> <Class>`. STANDALONE keeps a suite in
# its own executable NAME (one with its own main(), e.g. one that re-executes itself as a child),
# as does -DKANANA_TEST_GROUPS=OFF for every suite. The target is returned in KANANA_TEST_TARGET
# for properties the function does not cover.
function(kanana_add_test name)
  cmake_parse_arguments(ARG "TORCH;STANDALONE" "TIMEOUT" "SOURCES;LINKS;LABELS;DEFINES;DEPENDS" ${ARGN})
  if(ARG_STANDALONE OR NOT KANANA_TEST_GROUPS)
    set(target ${name})
    set(command ${name})
    add_executable(${target} ${ARG_SOURCES})
    set(created TRUE)
  else()
    get_filename_component(module ${CMAKE_CURRENT_SOURCE_DIR} NAME)
    set(target tests_${module})
    if(ARG_TORCH)
      string(APPEND target _torch)
    endif()
    set(suite "")
    foreach(src ${ARG_SOURCES})
      file(READ ${CMAKE_CURRENT_SOURCE_DIR}/${src} text)
      if(text MATCHES "(^|[^_A-Z])QTEST_[A-Z_]*MAIN\\(")
        message(FATAL_ERROR "${src}: end a grouped test with KANANA_TEST_[GUILESS_|APPLESS_]MAIN "
                            "from test_main.h, not QTEST_*_MAIN (or mark the test STANDALONE)")
      endif()
      if(text MATCHES "KANANA_TEST_[A-Z_]*MAIN\\(([A-Za-z0-9_]+)\\)")
        set(suite ${CMAKE_MATCH_1})
      endif()
    endforeach()
    if(suite STREQUAL "")
      message(FATAL_ERROR "test ${name}: no KANANA_TEST_*MAIN(Class) in ${ARG_SOURCES}")
    endif()
    set(command ${target} ${suite})
    set(created FALSE)
    if(NOT TARGET ${target})
      add_executable(${target} ${PROJECT_SOURCE_DIR}/tests/common/test_group_main.cpp)
      target_compile_definitions(${target} PRIVATE KANANA_TEST_GROUP)
      if(KANANA_UNITY_BUILD)
        set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${KANANA_UNITY_BATCH_SIZE})
      endif()
      set(created TRUE)
    endif()
    target_sources(${target} PRIVATE ${ARG_SOURCES})
  endif()
  if(created)
    set_target_properties(${target} PROPERTIES AUTOMOC ON RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    target_link_libraries(${target} PRIVATE Qt6::Test)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/common)
    if(ARG_TORCH)
      target_link_libraries(${target} PRIVATE torch)
      kanana_use_torch_pch(${target})
    endif()
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_LINKS})
  if(ARG_DEFINES)
    target_compile_definitions(${target} PRIVATE ${ARG_DEFINES})
  endif()
  if(ARG_DEPENDS)
    add_dependencies(${target} ${ARG_DEPENDS})
  endif()
  add_test(NAME ${name} COMMAND ${command})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT}
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;KANANA_SOURCE_DIR=${PROJECT_SOURCE_DIR};KANANA_BUILD_DIR=${CMAKE_BINARY_DIR};OMP_NUM_THREADS=2")
  set(KANANA_TEST_TARGET ${target} PARENT_SCOPE)
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
