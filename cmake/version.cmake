# Sets EVQ_HEADER_VERSION ("MAJOR.MINOR.PATCH") from the EVQ_VERSION_*
# macros of include/evq.h, the one place the version is written down.
# Included before project().
set(_evq_header "${CMAKE_CURRENT_LIST_DIR}/../include/evq.h")
file(STRINGS "${_evq_header}" _evq_lines
     REGEX "^#define EVQ_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+ *$")
set(EVQ_HEADER_VERSION "")
foreach(_part MAJOR MINOR PATCH)
  set(_evq_value "")
  foreach(_line ${_evq_lines})
    if(_line MATCHES "^#define EVQ_VERSION_${_part} +([0-9]+)")
      set(_evq_value ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(_evq_value STREQUAL "")
    message(FATAL_ERROR "${_evq_header}: no '#define EVQ_VERSION_${_part} <n>'")
  endif()
  list(APPEND EVQ_HEADER_VERSION ${_evq_value})
endforeach()
string(REPLACE ";" "." EVQ_HEADER_VERSION "${EVQ_HEADER_VERSION}")
