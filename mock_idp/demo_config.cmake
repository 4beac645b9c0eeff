# Embed docs/demo-config.json as a C string: the documented file is the built-in config.
file(READ ${SRC} JSON_TEXT)
string(REPLACE "\\" "\\\\" JSON_TEXT "${JSON_TEXT}")
string(REPLACE "\"" "\\\"" JSON_TEXT "${JSON_TEXT}")
string(REPLACE "\n" "\\n\"\n    \"" JSON_TEXT "${JSON_TEXT}")
file(WRITE ${DST} "/* Generated from docs/demo-config.json by mock_idp/demo_config.cmake. */\n"
  "#ifndef DEMO_CONFIG_H\n#define DEMO_CONFIG_H\n"
  "static const char IDP_DEMO_CONFIG[] =\n    \"${JSON_TEXT}\";\n#endif\n")
