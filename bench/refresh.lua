-- The refresh grant, the same for every system: POST the form in $BENCH_BODY to the URL
-- given to wrk, with $BENCH_AUTH as the Authorization header when set.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
