# VigilDeps.cmake — dependencies that stop the configure, loudly, when missing.
#
# vigil_pkg(PREFIX MODULE DEBIAN_PACKAGE OPTION)
#   pkg-config MODULE as PkgConfig::PREFIX. When it is missing, the configure
#   stops naming the Debian package to install and the option that wants it
#   (so the reader can also choose to turn that program off).
# vigil_require(CONDITION DEBIAN_PACKAGE OPTION WHAT)
#   the same message for a find_package / find_library / compiler check.
find_package(PkgConfig QUIET)

function(vigil_missing what debpkg opt)
  message(FATAL_ERROR
    "vigil: ${what} not found, and ${opt} is ON.\n"
    "  Install it: apt-get install ${debpkg}   (scripts/install-deps installs every one)\n"
    "  or configure without it: -D${opt}=OFF")
endfunction()

macro(vigil_pkg prefix module debpkg opt)
  if(NOT PKG_CONFIG_FOUND)
    vigil_missing("pkg-config (needed to find ${module})" pkg-config ${opt})
  endif()
  if(NOT TARGET PkgConfig::${prefix})
    pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
    if(NOT ${prefix}_FOUND)
      vigil_missing("the library ${module} (pkg-config)" ${debpkg} ${opt})
    endif()
  endif()
endmacro()

macro(vigil_require cond debpkg opt what)
  if(NOT (${cond}))
    vigil_missing("${what}" ${debpkg} ${opt})
  endif()
endmacro()
