CMakeFiles/vitc.dir/tools/vitc.c.o: /work/main/tools/vitc.c \
 /usr/include/stdc-predef.h
