# kanana_add_plugin(NAME SOURCES ... [LINKS ...] [OUTPUT_DIR dir])
# A workbench plugin: a Qt MODULE library loaded with QPluginLoader. Plugins go to
# ${CMAKE_BINARY_DIR}/lib/kanana/plugins, which is where kanana-workbench looks by default
# (<exe dir>/../lib/kanana/plugins); test fixtures pass their own OUTPUT_DIR so broken
# fixture plugins never end up in the application's plugin folder.
function(kanana_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LINKS" ${ARGN})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_BINARY_DIR}/lib/kanana/plugins)
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE kanana_gui_sdk ${ARG_LINKS})
  set_target_properties(${name} PROPERTIES
    AUTOMOC ON
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR}
    # lib/kanana/plugins/libX.so finds lib/kanana/libkanana_gui_sdk.so one level up once installed.
    INSTALL_RPATH "$ORIGIN/..")
  # Building the app builds the plugins it would load (targets may live in other folders).
  if(NOT ARG_OUTPUT_DIR STREQUAL "${CMAKE_BINARY_DIR}/lib/kanana/plugins")
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY KANANA_PLUGINS ${name})
  install(TARGETS ${name} LIBRARY DESTINATION ${KANANA_INSTALL_PLUGINDIR})
  if(TARGET kanana-workbench)
    add_dependencies(kanana-workbench ${name})
  endif()
endfunction()

# kanana_plugin_library(NAME SOURCES ...): a plugin's model or page layer as a static library
# (AUTOMOC, position-independent for the plugin module), linked by the plugin and by its tests,
# so each source compiles once. Headers are included by file name.
function(kanana_plugin_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES AUTOMOC ON POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
endfunction()
