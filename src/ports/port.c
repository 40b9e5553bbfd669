/*
 * port.c - the port-type table: which ops serve a type, and the type names
 * the control layer shows and parses.
 */
#include "port.h"

#include <errno.h>
#include <string.h>

#include "../lib/compiler.h"

static const char *const port_type_names[] = {
    [PORT_VHOST_SERVER] = "vhost-user-server",
    [PORT_VHOST_CLIENT] = "vhost-user-client",
    [PORT_TAP] = "tap",
};

const struct port_ops *port_ops_for(enum port_type type)
{
	switch (type) {
	case PORT_VHOST_SERVER:
	case PORT_VHOST_CLIENT:
		return &port_vhost_ops;
	case PORT_TAP:
		return &port_tap_ops;
	}
	return NULL;
}

const char *port_type_name(enum port_type type)
{
	if ((unsigned)type >= RS_ARRAY_SIZE(port_type_names))
		return "unknown";
	return port_type_names[type];
}

int port_type_parse(const char *s, enum port_type *out)
{
	if (s == NULL)
		return -EINVAL;
	for (unsigned i = 0; i < RS_ARRAY_SIZE(port_type_names); i++) {
		if (strcmp(s, port_type_names[i]) == 0) {
			*out = (enum port_type)i;
			return 0;
		}
	}
	return -EINVAL;
}
