# Warnings as errors for every native target, gcc/clang and mingw alike.
function(iocph_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wno-unused-parameter)
  endif()
endfunction()
