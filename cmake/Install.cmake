# `cmake --install` for C users: the public header, the library (Linux: libiocphybrid.so; Windows:
# libiocphybrid.dll in bin/ and its import library in lib/), an exported CMake package
# (find_package(IocpHybrid CONFIG) -> the imported target IocpHybrid::iocphybrid, with a version
# file) and a pkg-config file (iocphybrid.pc). Everything is relocatable: install with
# `cmake --install <build dir> --prefix <anywhere>`. Tested by tests/consumers/ (./build.sh test).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(IOCPH_INSTALL "Generate the install rules (header, library, CMake package, pkg-config file)" ON)
if(NOT IOCPH_INSTALL)
  return()
endif()

# The target's include directory is the source tree while building and include/ once installed
# (an exported target may not name a path inside the source tree).
set_target_properties(iocphybrid PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/native/include>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

set(IOCPH_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/IocpHybrid)

install(TARGETS iocphybrid EXPORT IocpHybridTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/native/include/iocphybrid.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT IocpHybridTargets
  NAMESPACE IocpHybrid::
  FILE IocpHybridTargets.cmake
  DESTINATION ${IOCPH_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/IocpHybridConfig.cmake.in
  ${PROJECT_BINARY_DIR}/IocpHybridConfig.cmake
  INSTALL_DESTINATION ${IOCPH_CMAKE_INSTALL_DIR})
# 0.x: a minor version may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/IocpHybridConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/IocpHybridConfig.cmake
              ${PROJECT_BINARY_DIR}/IocpHybridConfigVersion.cmake
  DESTINATION ${IOCPH_CMAKE_INSTALL_DIR})

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), so the tree works
# wherever it was installed.
set(IOCPH_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH IOCPH_PC_TO_PREFIX /${IOCPH_PKGCONFIG_INSTALL_DIR} /)
string(REGEX REPLACE "/$" "" IOCPH_PC_TO_PREFIX "${IOCPH_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/iocphybrid.pc.in ${PROJECT_BINARY_DIR}/iocphybrid.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/iocphybrid.pc DESTINATION ${IOCPH_PKGCONFIG_INSTALL_DIR})
