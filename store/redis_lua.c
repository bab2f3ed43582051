/*
 * redis_lua.c - the Lua scripts of the Redis store; the keys they keep
 * and what each returns are in redis_lua.h.
 *
 * A GET by pcall, so that a key of another type counts as another's.
 */
#include "store/redis_lua.h"

/* B: the keys' common prefix; first(ME): the first live waiter (ours,
 * ME, counts as live: we are here), its dead predecessors removed. */
#define FIRST(queue) \
    "local b=string.sub(KEYS[1],1,-5) " \
    "local function first(me) while true do " \
    "local e=redis.call('ZRANGE'," queue ",0,0)[1] " \
    "if not e or e==me or redis.call('EXISTS',b..'w:'..e)==1 then " \
    "return e end redis.call('ZREM'," queue ",e) end end "

/* hand the lock to the first live waiter, if any: its value, with the
 * server's time as acquired= and PX its own lease (KEYS lock, held, fence
 * as K, H, F), and the term on its channel; plain wake-up if its value
 * names no lease */
#define HAND(K, H, F) \
    "local n=first(false) if n then " \
    "local w=redis.pcall('GET',b..'w:'..n) " \
    "local d=type(w)=='string' and tonumber(string.match(w,'\\nlease_ms=(%d+)')) " \
    "if d and d>0 then local c=redis.call('TIME') " \
    "w=string.gsub(w,'\\nacquired=%d+','\\nacquired='..(c[1]*1000+math.floor(c[2]/1000)),1) " \
    "redis.call('SET'," K ",w,'PX',d) redis.call('SET'," H ",w,'PX',d) " \
    "local g=redis.call('INCR'," F ") " \
    "redis.call('ZREM',b..'queue',n) redis.call('DEL',b..'w:'..n) " \
    "redis.pcall('PUBLISH',b..'wake:'..n,g) " \
    "else redis.pcall('PUBLISH',b..'wake:'..n,'') end end "

/* wake the first live waiter, if any */
#define WAKE \
    "local n=first(false) " \
    "if n then redis.pcall('PUBLISH',b..'wake:'..n,'') end "

const char redis_lua_acquire[] =
    "local t=redis.call('TIME') t=t[1]*1000+math.floor(t[2]/1000) "
    FIRST("KEYS[5]")
    "local me=ARGV[4] local e=first(me) "
    "local h=redis.pcall('GET',KEYS[3]) if type(h)~='string' then h=false end "
    "local f=tonumber(redis.pcall('GET',KEYS[2])) or 0 "
    "local why,v,p,x=0,'',-2,-1 "
    "local o=redis.pcall('GET',KEYS[1]) "
    "if type(o)=='string' and string.sub(o,1,#ARGV[3])==ARGV[3] then "
    "redis.call('SET',KEYS[1],ARGV[1],'PX',ARGV[2]) "
    "redis.call('SET',KEYS[3],ARGV[1],'PX',ARGV[2]) "
    "redis.call('ZREM',KEYS[5],me) redis.call('DEL',KEYS[7]) "
    "return {1,f} end "
    "if not o then "
    "if h and string.sub(h,1,#ARGV[3])~=ARGV[3] then "
    "why=1 v=h p=redis.call('PTTL',KEYS[3]) "
    "elseif ARGV[6] and not h and f<=tonumber(ARGV[7]) and t<tonumber(ARGV[9]) "
    "and redis.pcall('GET',KEYS[4])~=string.match(ARGV[6],'^[^\\n]*') then "
    "redis.call('SET',KEYS[3],ARGV[6],'PX',ARGV[8]) "
    "why=2 v=ARGV[6] p=tonumber(ARGV[8]) "
    "elseif not e or e==me then "
    "redis.call('SET',KEYS[1],ARGV[1],'PX',ARGV[2]) "
    "redis.call('SET',KEYS[3],ARGV[1],'PX',ARGV[2]) "
    "if e then redis.call('ZREM',KEYS[5],me) redis.call('DEL',KEYS[7]) end "
    "return {1,redis.call('INCR',KEYS[2])} "
    "else why=3 end "
    "else v=redis.pcall('GET',KEYS[1]) if type(v)~='string' then v='' end "
    "p=redis.call('PTTL',KEYS[1]) if p>=0 then x=t+p end end "
    "local r=-1 local a,av,ap='','',-2 if ARGV[5]~='0' then "
    "if not redis.call('ZSCORE',KEYS[5],me) then "
    "redis.call('ZADD',KEYS[5],redis.call('INCR',KEYS[6]),me) end "
    "redis.call('SET',KEYS[7],ARGV[1],'PX',ARGV[5]) "
    "r=redis.call('ZRANK',KEYS[5],me) end "
    "if r>0 then a=redis.call('ZRANGE',KEYS[5],r-1,r-1)[1] "
    "av=redis.pcall('GET',b..'w:'..a) ap=redis.call('PTTL',b..'w:'..a) "
    "if type(av)~='string' then av='' end end "
    "return {0,string.sub(v,1,4096),p,f,why,x,r,redis.call('ZCARD',KEYS[5]),"
    "a,string.sub(av,1,4096),ap}";

const char redis_lua_renew[] =
    "local v=redis.pcall('GET',KEYS[1]) if not v then return 0 end "
    "if type(v)~='string' or string.sub(v,1,#ARGV[1])~=ARGV[1] then "
    "return -1 end "
    "if ARGV[3] then v=ARGV[3] redis.call('SET',KEYS[1],v,'PX',ARGV[2]) "
    "else redis.call('PEXPIRE',KEYS[1],ARGV[2]) end "
    "redis.call('SET',KEYS[2],v,'PX',ARGV[2]) return 1";

const char redis_lua_end[] =
    FIRST("KEYS[4]")
    "local t=ARGV[1] local r=0 local v=redis.pcall('GET',KEYS[1]) "
    "if type(v)=='string' and string.sub(v,1,#t)==t then "
    "redis.call('DEL',KEYS[1]) r=1 elseif v then r=-1 end "
    "local h=redis.pcall('GET',KEYS[2]) "
    "if type(h)=='string' and string.sub(h,1,#t)==t then "
    "redis.call('DEL',KEYS[2]) h=false end "
    "redis.call('SET',KEYS[3],string.match(t,'^[^\\n]*'),'PX',ARGV[2]) "
    "if r==1 and not h then " HAND("KEYS[1]", "KEYS[2]", "KEYS[5]") "elseif r==1 or not h then " WAKE "end "
    "return r";

const char redis_lua_leave[] =
    FIRST("KEYS[2]")
    "if ARGV[3] then local v=redis.pcall('GET',KEYS[3]) "
    "if v and v~=ARGV[3] then return 0 end end "
    "local e=first(ARGV[1]) "
    "redis.call('ZREM',KEYS[2],ARGV[1]) redis.call('DEL',KEYS[3]) "
    "local t='token='..ARGV[1]..'\\n' local v=redis.pcall('GET',KEYS[1]) "
    "if type(v)=='string' and string.sub(v,1,#t)==t then "
    "redis.call('DEL',KEYS[1]) e=ARGV[1] "
    "local h=redis.pcall('GET',KEYS[4]) "
    "if type(h)=='string' and string.sub(h,1,#t)==t then "
    "redis.call('DEL',KEYS[4]) end "
    "redis.call('SET',KEYS[5],'token='..ARGV[1],'PX',ARGV[2]) end "
    "if e==ARGV[1] and redis.call('EXISTS',KEYS[1])==0 then " WAKE "end "
    "return 1";

/* At most 48 values named: a reply holds at most RESP_MAXVALS values. */
const char redis_lua_status[] =
    "local b=string.sub(KEYS[1],1,-5) "
    "local k=KEYS[1] local g=0 if redis.call('EXISTS',k)==0 and "
    "redis.call('EXISTS',KEYS[3])==1 then k=KEYS[3] g=1 end "
    "local v=redis.pcall('GET',k) if type(v)~='string' then v=false "
    "else v=string.sub(v,1,4096) end "
    "local w={} local m=math.min(tonumber(ARGV[1]) or 0,48) "
    "local c=math.max(redis.call('ZCARD',KEYS[4])-10000,0) "
    "for _,e in ipairs(redis.call('ZRANGE',KEYS[4],0,9999)) do "
    "local x=redis.pcall('GET',b..'w:'..e) "
    "if type(x)=='string' then c=c+1 "
    "if #w<m then w[#w+1]=string.sub(x,1,1024) end end end "
    "return {v,redis.call('PTTL',k),"
    "tonumber(redis.pcall('GET',KEYS[2])) or 0,g,c,w}";

/* One SCAN step, the names picked out of the keys here, not in the reply:
 * a reply holds at most RESP_MAXVALS values, a bulk string 64 kB. */
const char redis_lua_list[] =
    "local r=redis.call('SCAN',ARGV[1],'MATCH',ARGV[2],'COUNT',ARGV[3]) "
    "local s,t,o={},{},{} "
    "for _,k in ipairs(r[2]) do "
    "local n=string.match(k,'^[^{]*{([^}]*)}:') "
    "if n and not s[n] then s[n]=true t[#t+1]=n elseif not n then "
    "o[#o+1]=string.sub(k,1,200) end end "
    "return {r[1],table.concat(t,'\\0'),table.concat(o,'\\0')}";
