# Install rules (included by the top CMakeLists.txt when EVQ_INSTALL is on):
# the header, both libraries, a CMake package (find_package(evq)) and evq.pc
# for pkg-config. tests/consumer/ builds programs against the result.
include(CMakePackageConfigHelpers)

set(EVQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/evq)
set_target_properties(evq_static PROPERTIES EXPORT_NAME evq_static)
set_target_properties(evq_shared PROPERTIES EXPORT_NAME evq_shared)
install(TARGETS evq_static evq_shared EXPORT evqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/evq.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT evqTargets NAMESPACE evq:: DESTINATION ${EVQ_CMAKE_DIR})

# What a consumer must find first: the libraries evq links that are
# targets (Threads; libkqueue in a -DEVQ_LIBKQUEUE=ON build).
set(EVQ_CONFIG_DEPS "")
set(EVQ_PC_REQUIRES_PRIVATE "")
if(Threads::Threads IN_LIST EVQ_LIBS)
  string(APPEND EVQ_CONFIG_DEPS "find_dependency(Threads)\n")
endif()
if(PkgConfig::LIBKQUEUE IN_LIST EVQ_LIBS)
  string(APPEND EVQ_CONFIG_DEPS "find_dependency(PkgConfig)\n"
    "pkg_check_modules(LIBKQUEUE REQUIRED QUIET IMPORTED_TARGET libkqueue)\n")
  set(EVQ_PC_REQUIRES_PRIVATE libkqueue)
endif()
configure_package_config_file(cmake/evqConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/evqConfig.cmake
  INSTALL_DESTINATION ${EVQ_CMAKE_DIR})
# Semantic versioning: 0.y releases may break each other, later ones only
# across major versions (README, "Versioning").
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_evq_compat SameMinorVersion)
else()
  set(_evq_compat SameMajorVersion)
endif()
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/evqConfigVersion.cmake
  COMPATIBILITY ${_evq_compat})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/evqConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/evqConfigVersion.cmake
        DESTINATION ${EVQ_CMAKE_DIR})

# evq.pc. The prefix is only known at install time (cmake --install
# --prefix, make install PREFIX=...), so the file is written then.
set(EVQ_PC_LIBS_PRIVATE "")
foreach(lib ${EVQ_LIBS})
  if(lib STREQUAL "Threads::Threads")
    string(APPEND EVQ_PC_LIBS_PRIVATE " -lpthread")
  elseif(lib MATCHES "^PkgConfig::") # Requires.private above
  else()
    string(APPEND EVQ_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(EVQ_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(EVQ_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
string(STRIP "${EVQ_PC_LIBS_PRIVATE}" EVQ_PC_LIBS_PRIVATE)
set(EVQ_PC_PREFIX "@EVQ_PC_PREFIX@") # kept for the install-time pass
configure_file(cmake/evq.pc.in ${CMAKE_CURRENT_BINARY_DIR}/evq.pc.tmpl @ONLY)
install(CODE "
  set(EVQ_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/evq.pc.tmpl\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/evq.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/evq.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
