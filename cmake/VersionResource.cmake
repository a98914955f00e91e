# The DLL's version resource (native/src/win/iocphybrid.rc, VERSIONINFO): the version numbers are the
# header's IOCPH_VERSION_* (read into PROJECT_VERSION_* by CMakeLists.txt), passed as /D definitions.
#
# The resource compiler is rc.exe of the NuGet package Microsoft.Windows.SDK.BuildTools, which
# build.ps1 restores into artifacts/tools/sdk-buildtools/ (Restore-WindowsSdkBuildTools):
#   - mingw-w64 cross build (Linux): that rc.exe runs under wine64; GNU ld cannot read a .res file, so
#     x86_64-w64-mingw32-windres converts the .res to a COFF object (a format conversion only: the
#     resource is rc.exe's) that is linked into the DLL. Where the package or Wine is missing (a
#     plain `cmake --preset win-x64` before build.ps1 ran), windres compiles the .rc itself and
#     configure says so.
#   - Windows host (MSVC): CMake's RC language; pass -DCMAKE_RC_COMPILER=<that rc.exe> to use the
#     package's, otherwise the rc.exe of the Visual Studio environment compiles it.
set(IOCPH_RC_SOURCE ${PROJECT_SOURCE_DIR}/native/src/win/iocphybrid.rc)
set(IOCPH_RC_DEFINES
  IOCPH_VERSION_MAJOR=${PROJECT_VERSION_MAJOR}
  IOCPH_VERSION_MINOR=${PROJECT_VERSION_MINOR}
  IOCPH_VERSION_PATCH=${PROJECT_VERSION_PATCH})

if(NOT MINGW)
  enable_language(RC)
  target_sources(iocphybrid PRIVATE ${IOCPH_RC_SOURCE})
  set_source_files_properties(${IOCPH_RC_SOURCE} PROPERTIES COMPILE_DEFINITIONS "${IOCPH_RC_DEFINES}")
  return()
endif()

set(IOCPH_SDK_RC "" CACHE FILEPATH "rc.exe of Microsoft.Windows.SDK.BuildTools (empty: the newest under artifacts/tools/sdk-buildtools)")
set(IOCPH_RC_EXE "${IOCPH_SDK_RC}")
if(NOT IOCPH_RC_EXE)
  file(GLOB IOCPH_RC_CANDIDATES
    ${PROJECT_SOURCE_DIR}/artifacts/tools/sdk-buildtools/packages/microsoft.windows.sdk.buildtools/*/bin/*/x64/rc.exe)
  if(IOCPH_RC_CANDIDATES)
    list(SORT IOCPH_RC_CANDIDATES COMPARE NATURAL ORDER DESCENDING)
    list(GET IOCPH_RC_CANDIDATES 0 IOCPH_RC_EXE)
  endif()
endif()

if(IOCPH_RC_EXE AND IOCPH_WINE64)
  set(IOCPH_RC_OBJECT ${PROJECT_BINARY_DIR}/iocphybrid_rc.o)
  message(STATUS "IocpHybrid version resource: ${IOCPH_RC_EXE} under ${IOCPH_WINE64}")
  # rc.exe takes Windows paths (a leading / is an option): Wine sees the Linux file system as Z:.
  string(REPLACE "/" "\\" IOCPH_RC_SOURCE_WIN "Z:${IOCPH_RC_SOURCE}")
  string(REPLACE "/" "\\" IOCPH_RC_RES_WIN "Z:${PROJECT_BINARY_DIR}/iocphybrid.res")
  list(TRANSFORM IOCPH_RC_DEFINES PREPEND /D OUTPUT_VARIABLE IOCPH_RC_FLAGS)
  if(DEFINED ENV{WINEPREFIX})
    set(IOCPH_RC_WINEPREFIX $ENV{WINEPREFIX})
  else()
    set(IOCPH_RC_WINEPREFIX ${PROJECT_SOURCE_DIR}/artifacts/wine)
  endif()
  add_custom_command(OUTPUT ${IOCPH_RC_OBJECT}
    COMMAND ${CMAKE_COMMAND} -E env WINEPREFIX=${IOCPH_RC_WINEPREFIX} WINEDEBUG=-all
            ${IOCPH_WINE64} ${IOCPH_RC_EXE} /nologo ${IOCPH_RC_FLAGS} /fo ${IOCPH_RC_RES_WIN} ${IOCPH_RC_SOURCE_WIN}
    COMMAND ${CMAKE_RC_COMPILER} -J res -O coff -i ${PROJECT_BINARY_DIR}/iocphybrid.res -o ${IOCPH_RC_OBJECT}
    DEPENDS ${IOCPH_RC_SOURCE} ${PROJECT_SOURCE_DIR}/native/include/iocphybrid.h
    COMMENT "rc.exe (Windows SDK build tools, under Wine): iocphybrid.res"
    VERBATIM)
else()
  message(STATUS "IocpHybrid version resource: rc.exe or wine64 not found, compiled by ${CMAKE_RC_COMPILER}")
  set(IOCPH_RC_OBJECT ${PROJECT_BINARY_DIR}/iocphybrid_windres.o)
  list(TRANSFORM IOCPH_RC_DEFINES PREPEND -D OUTPUT_VARIABLE IOCPH_RC_FLAGS)
  add_custom_command(OUTPUT ${IOCPH_RC_OBJECT}
    COMMAND ${CMAKE_RC_COMPILER} ${IOCPH_RC_FLAGS} -O coff -i ${IOCPH_RC_SOURCE} -o ${IOCPH_RC_OBJECT}
    DEPENDS ${IOCPH_RC_SOURCE} ${PROJECT_SOURCE_DIR}/native/include/iocphybrid.h
    VERBATIM)
endif()
# An object file among the sources is linked as it is (and the custom command above makes it).
set_source_files_properties(${IOCPH_RC_OBJECT} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
target_sources(iocphybrid PRIVATE ${IOCPH_RC_OBJECT})
