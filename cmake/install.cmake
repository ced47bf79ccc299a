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
install(FILES include/evq.h include/evq_net.h include/evq_io.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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
set(EVQ_PC_RPATH "@EVQ_PC_RPATH@")
configure_file(cmake/evq.pc.in ${CMAKE_CURRENT_BINARY_DIR}/evq.pc.tmpl @ONLY)
# A program linked with `pkg-config --libs evq` must find libevq.so where
# it was installed when it runs. The loader looks in the system's own
# directories, and nowhere else: so for a libdir outside them (a custom
# prefix; /usr/local/lib before ldconfig has run) evq.pc adds an rpath
# (RUNPATH, which LD_LIBRARY_PATH still overrides), as CMake does for a
# consumer's build. The system's directories are the linker's implicit
# ones, the test CMake itself uses; a distribution's evq.pc has none.
set(EVQ_SYSTEM_LIBDIRS ${CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES}
                       ${CMAKE_C_IMPLICIT_LINK_DIRECTORIES})
if(WIN32)
  set(EVQ_SYSTEM_LIBDIRS "*") # no rpath: a DLL is found on PATH
endif()
install(CODE "
  set(EVQ_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(libdir \"${CMAKE_INSTALL_LIBDIR}\")
  if(NOT IS_ABSOLUTE \"\${libdir}\")
    set(libdir \"\${CMAKE_INSTALL_PREFIX}/\${libdir}\")
  endif()
  get_filename_component(libdir \"\${libdir}\" REALPATH)
  set(EVQ_PC_RPATH \" -Wl,-rpath,\\\${libdir}\")
  foreach(dir ${EVQ_SYSTEM_LIBDIRS})
    get_filename_component(dir \"\${dir}\" REALPATH)
    if(dir STREQUAL \"*\" OR dir STREQUAL libdir)
      set(EVQ_PC_RPATH \"\")
    endif()
  endforeach()
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/evq.pc.tmpl\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/evq.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/evq.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
