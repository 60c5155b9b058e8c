# config.mk — build settings; every variable may be overridden on the make command line.
PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
CSTD	= -std=c17
WARN	= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual
HARDEN	= -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=3
OPT	?= -O2 -g
CFLAGS	?=
LDFLAGS	?=
HARDEN_LD = -pie -Wl,-z,relro,-z,now
LIBS	= -lbsd -lssl -lcrypto -lcrypt
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
