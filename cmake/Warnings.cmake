# Warnings as errors for every native target, gcc/clang and mingw alike.
function(iocph_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wno-unused-parameter)
  endif()
endfunction()

# MSVC (Windows host builds): C11 with the C11 atomics that <stdatomic.h> needs (VS 2022 17.5+).
if(MSVC)
  add_compile_options(/std:c11 /experimental:c11atomics)
endif()
