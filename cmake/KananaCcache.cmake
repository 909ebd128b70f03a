# kanana_ccache_launcher(OUT_VAR CCACHE)
# The compiler launcher for ccache: `cmake -E env` sets ccache's options for this build only,
# so nothing is written to the user's ccache.conf.
#  - base_dir: the deepest folder holding both the sources and the build folder, so that
#    absolute paths under it are hashed relative to the working directory; two clones
#    in different folders then share cache entries.
#  - hash_dir=false: the working directory is not part of the hash (no debug info by default,
#    so no absolute path ends up in an object file).
#  - sloppiness: what GCC's precompiled headers need to be cached (pch_defines, time_macros),
#    and file times (a fresh clone has new mtimes; contents are still hashed).
function(kanana_ccache_launcher out ccache)
  file(REAL_PATH "${PROJECT_SOURCE_DIR}" src)
  file(REAL_PATH "${PROJECT_BINARY_DIR}" bin)
  set(base "${src}")
  while(NOT base STREQUAL "/")
    string(FIND "${bin}/" "${base}/" pos)
    if(pos EQUAL 0)
      break()
    endif()
    get_filename_component(base "${base}" DIRECTORY)
  endwhile()
  set(env CCACHE_NOHASHDIR=1
          CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime)
  if(NOT base STREQUAL "/")
    list(APPEND env CCACHE_BASEDIR=${base})
  endif()
  set(${out} ${CMAKE_COMMAND} -E env ${env} ${ccache} PARENT_SCOPE)
endfunction()
