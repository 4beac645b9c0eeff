/* Escaping for the XML and HTML writers. */
#ifndef RPT_XML_H
#define RPT_XML_H

#include "cm_strbuf.h"

/** Append @p s escaped for XML text and attribute values (control characters dropped). */
void rpt_xml_escape(cm_strbuf *b, const char *s);

#endif
