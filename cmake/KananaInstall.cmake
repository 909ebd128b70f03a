# Install layout and the Debian package (cpack -G DEB → kanana-workbench_<version>_amd64.deb).
#
#   bin/kanana, bin/kanana-workbench
#   lib/kanana/lib*.so              the core and GUI SDK libraries (private: not in ld's path)
#   lib/kanana/plugins/lib*.so      the workbench plugins (found as <exe>/../lib/kanana/plugins)
#   share/kanana-workbench/recipes  shipped recipes (found by kanana::find_resource)
#   share/kanana-workbench/eval     the demo evaluation task specs (docs/eval-tasks.md)
#   share/applications, share/icons, share/metainfo   desktop entry, icon, AppStream data
#
# Everything is found relative to the installed executable, so the package also works when
# unpacked under another root (scripts/test-package.sh runs it from a `dpkg -x` folder).
# The KANANA_INSTALL_* folders are set in the top-level CMakeLists.txt (the helpers use them).

install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/recipes DESTINATION ${KANANA_INSTALL_DATADIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/eval DESTINATION ${KANANA_INSTALL_DATADIR})
if(KANANA_BUILD_GUI)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/kanana-workbench.desktop DESTINATION share/applications)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/app/icons/kanana.svg
          DESTINATION share/icons/hicolor/scalable/apps RENAME kanana-workbench.svg)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/io.github.kanana_workbench.metainfo.xml DESTINATION share/metainfo)
endif()

set(CPACK_PACKAGE_NAME kanana-workbench)
set(CPACK_PACKAGE_VENDOR "Kanana Workbench developers")
set(CPACK_PACKAGE_CONTACT "Kanana Workbench developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Workbench for compute-efficient bilingual (Korean/English) language models")
set(CPACK_PACKAGE_DESCRIPTION
    "A Qt 6 desktop workbench and the kanana command-line tool for building Korean/English language models the way the Kanana technical report does: corpus inspection and filtering, tokenizer training, staged pre-training, depth up-scaling, pruning and distillation, SFT, reward models and DPO, preference annotation, chat/RAG/tool playgrounds and evaluation, on LibTorch.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_COMPRESSION_TYPE zstd)
# Runtime dependencies come from the binaries (dpkg-shlibdeps: libtorch, Qt, SentencePiece, ...);
# the private libraries in lib/kanana are the package's own.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/lib)
if(KANANA_BUILD_GUI)
  # Loaded at run time, so no binary names them: the display platforms and the SVG icon engine.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, libqt6svg6")
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "fonts-nanum")
endif()
include(CPack)
