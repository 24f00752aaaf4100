# The floors of server/ (docs/ARCHITECTURE.md, "Inside meanwhiled"), checked
# on the sources: run as `cmake -DSRC=<source dir> -P layering.cmake`; any
# breach is printed with its file and line and fails the test.
#
#   http -> ingest, query -> decode, store -> model -> core
#
# * a module includes only modules below it (core/ nothing, model/ core/, ...);
# * server/http/ reads the store only through query/ and writes it only
#   through ingest/: it includes no store/ header and calls no mw__store_* or
#   mw__read_* function;
# * only server/store/ includes sqlite3.h;
# * only server/http/status.c knows HTTP status codes: no number that looks
#   like one ([1-5]xx followed by ',' or ')') and no MHD_HTTP_<status>
#   constant anywhere else in server/http/ (libmicrohttpd glue passes on the
#   numbers status.c gives it).
if(NOT SRC)
  message(FATAL_ERROR "usage: cmake -DSRC=<source dir> -P layering.cmake")
endif()

set(allowed_core "core")
set(allowed_model "core|model")
set(allowed_decode "core|model|decode")
set(allowed_store "core|model|store")
set(allowed_ingest "core|model|decode|store|ingest")
set(allowed_query "core|model|decode|store|query")
set(allowed_http "core|model|ingest|query|http")

set(failures "")
set(checked 0)
foreach(floor core model decode store ingest query http)
  file(GLOB files ${SRC}/server/${floor}/*.c ${SRC}/server/${floor}/*.h)
  list(LENGTH files n_files)
  if(n_files EQUAL 0)
    string(APPEND failures "server/${floor}/: no sources found: nothing was checked\n")
  endif()
  math(EXPR checked "${checked} + ${n_files}")
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel ${SRC} ${f})
    file(STRINGS ${f} lines)
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n} + 1")
      if(line MATCHES "^#include \"(core|model|decode|store|ingest|query|http)/")
        set(to ${CMAKE_MATCH_1})
        if(NOT to MATCHES "^(${allowed_${floor}})$")
          string(APPEND failures "${rel}:${n}: ${floor}/ includes ${to}/: ${line}\n")
        endif()
      endif()
      if(line MATCHES "#include <sqlite3.h>" AND NOT floor STREQUAL "store")
        string(APPEND failures "${rel}:${n}: only store/ touches SQLite: ${line}\n")
      endif()
      if(floor STREQUAL "http")
        if(line MATCHES "mw__(store|read)_[a-z_]+\\(")
          string(APPEND failures "${rel}:${n}: http/ calls the store (use query/ or ingest/): ${line}\n")
        endif()
        if(NOT rel STREQUAL "server/http/status.c")
          if(line MATCHES "[^0-9A-Za-z_.][1-5][0-9][0-9][,)]")
            string(APPEND failures "${rel}:${n}: an HTTP status outside status.c: ${line}\n")
          endif()
          string(REGEX MATCHALL "MHD_HTTP_[A-Z_0-9]+" consts "${line}")
          foreach(c IN LISTS consts)
            if(NOT c MATCHES "^MHD_HTTP_(HEADER|METHOD|VERSION|POST_ENCODING)_")
              string(APPEND failures "${rel}:${n}: the status ${c} outside status.c\n")
            endif()
          endforeach()
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "layering breached:\n${failures}")
endif()
message(STATUS "layering holds (${checked} files)")
