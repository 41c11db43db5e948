# Which sources compile libtorch's headers, directly or through one of ours. A precompiled <torch/torch.h> saves
# such a file most of its ~20 s of parsing, but loading the 600 MB PCH costs a torch-free file ~7 s, so the build
# gives the PCH only to the files that need it (the engine's commands and the tests, which are not in an area).
#
# cadenza_find_torch_headers() scans the headers of src/, tools/cadenza/ and tests/ at configure time and keeps
# those that include <torch/...> or, transitively, another header that does. A header is known by the name the
# sources include it with: "train/trainer.h" (src/), "compare_work.h" (tools/cadenza/), "support/x.h" (tests/).
# CONFIGURE_DEPENDS re-runs the scan when a header is added; an edit that adds an include to an existing header is
# seen at the next configure (a missed header only costs compile time, never correctness).

function(cadenza_find_torch_headers)
  set(roots ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tools/cadenza ${CMAKE_SOURCE_DIR}/tests)
  set(names "")
  foreach(root ${roots})
    file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${root} ${root}/*.h)
    foreach(name ${headers})
      list(APPEND names ${name})
      file(STRINGS ${root}/${name} includes_of_${name} REGEX "^#include [<\"]")
    endforeach()
  endforeach()
  set(torch_headers "")
  set(changed TRUE)
  while(changed)  # until no header joins: each round adds the headers that include one found so far
    set(changed FALSE)
    foreach(name ${names})
      if(NOT name IN_LIST torch_headers)
        cadenza_lines_include_torch("${includes_of_${name}}" "${torch_headers}" found)
        if(found)
          list(APPEND torch_headers ${name})
          set(changed TRUE)
        endif()
      endif()
    endforeach()
  endwhile()
  set(CADENZA_TORCH_HEADERS ${torch_headers} PARENT_SCOPE)
endfunction()

# cadenza_lines_include_torch(LINES TORCH_HEADERS OUT): OUT is TRUE if one of the #include LINES names libtorch or
# one of TORCH_HEADERS.
function(cadenza_lines_include_torch lines torch_headers out)
  foreach(line ${lines})
    if(line MATCHES "^#include <torch/")
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
    if(line MATCHES "^#include \"([^\"]+)\"" AND CMAKE_MATCH_1 IN_LIST torch_headers)
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

# cadenza_source_includes_torch(SOURCE OUT): OUT is TRUE if SOURCE compiles libtorch's headers
# (after cadenza_find_torch_headers()).
function(cadenza_source_includes_torch source out)
  file(STRINGS ${source} lines REGEX "^#include [<\"]")
  cadenza_lines_include_torch("${lines}" "${CADENZA_TORCH_HEADERS}" found)
  set(${out} ${found} PARENT_SCOPE)
endfunction()
