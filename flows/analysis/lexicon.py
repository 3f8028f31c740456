"""Sentiment words, negators, intensifiers and other cues, after normalization (simplified
Chinese, lower case). Scores: +1 / -1 a plain verdict, ±2 a strong one, 0 a neutral verdict
("一般", "ok": counts as a verdict for vagueness but moves nothing)."""

from __future__ import annotations


def split_words(text: str) -> tuple[str, ...]:
    """The words of a space-separated list."""
    return tuple(text.split())


POSITIVE_ZH = split_words(
    "好 不错 满意 棒 赞 点赞 优秀 完美 喜欢 快 快速 迅速 及时 准时 方便 便捷 简单 清爽 好用"
    " 好吃 好看 舒服 耐用 实惠 划算 便宜 值 值得 超值 热情 耐心 专业 礼貌 有礼貌 客气 亲切"
    " 贴心 周到 细心 仔细 用心 靠谱 给力 顺利 顺畅 流畅 高效 利索 麻利 省事 省心 放心 感谢"
    " 谢谢 多谢 推荐 惊喜 一流 好评 漂亮 精致 新鲜 稳定 清楚 公道 合理 优惠 愉快 开心 厉害"
    " 出色 到位 提前 直观 直觉 满分 信赖 好正 几好 抵 几抵 抵买 抵食 正 挺好 很好 蛮好"
    " 还不错 美味 干净 清晰 准确 透明 效率高 周全 温柔 积极 认真 负责 诚信 满足 舒心 安心"
    " 超出预期 物超所值 物有所值 回购 稳 快捷 轻松 友好 体贴 随和 友善 热心 负责任 解决 修好"
    " 搞定 搞掂 处理好 完善 赞赏 感动 舒适 实用 足 划得来 准 香 甜 笑容 接受 值回票价"
)
NEGATIVE_ZH = split_words(
    "差 糟糕 烂 垃圾 坑 失望 不满 慢 贵 坏 破 破损 裂 脏 臭 难吃 难用 难 麻烦 繁琐 复杂"
    " 折腾 冷漠 敷衍 爱理不理 没人理 粗糙 瑕疵 毛病 闪退 卡 卡顿 死机 当机 崩溃 打不开 登不上"
    " 用不了 丢 丢失 错 送错 算错 错误 扔 骗 被骗 踢皮球 推诿 推脱 浪费 浪费时间 久 很久"
    " 好久 半天 拖 拖延 延误 迟 晚 凉 冷 虚高 离谱 坑爹 乱收费 多扣 扣钱 莫名其妙 投诉 差评"
    " 恶心 生气 愤怒 无语 郁闷 困扰 后悔 挂 挂断 占线 阴阳怪气 冷淡 不耐烦 凶 串 嬲 衰 渣"
    " 废 难食 伤心 折磨 噩梦 太久 没下文 没动静 乱 一问三不知 丑 假货 次品 山寨 欺骗 忽悠"
    " 霸王条款 坑人 差劲 失败 故障 延迟 不准时 缺 少发 漏发 错发 发错 糊弄 不靠谱 不值"
    " 不值得 受骗 黑心 奸商 坑钱 答不上来 不专业 别买 不会再 再也不 讨厌 气人 不爽 烦 烦人"
    " 累 心累 吐槽 辣鸡 太差 很差 好差 超差 极差 难搞 难办 费劲 费事 耽误 为难 刁难 扯皮"
    " 过期 变质 发霉 漏 漏水 异味 掉色 起球 变形 不稳 不稳定 报错 出错 卡死 bug 崩 掉线"
    " 黑屏 白屏 闪屏 涨价 不了 不上 不到 不进 受不了 有问题 出问题 有毛病 太多 太长 排队 等了"
    " 等咗 退步 下降"
)
MORE_POSITIVE_ZH = split_words(
    "诚恳 真诚 细致 暖心 温暖 尽责 敬业 神速 飞快 秒到 准点 守时 良心 实在 厚道 物美价廉"
    " 价廉物美 惊艳 超赞 优质 上乘 精良 结实 扎实 顺滑 丝滑 易用 简洁 明了 人性化 顺手 合身"
    " 美观 精美 大气 可口 正宗 整洁 卫生 安静 宽敞 圆满 很满意 高兴 和蔼 善解人意 帮大忙"
    " 值得信赖 值得推荐 满心欢喜 称心 如意 喜出望外 超值 实惠 便利 快乐 贴切 专注 耐看 好喝"
    " 爽 赞叹 完好 完好无损 无损 齐全 齐 准确无误 迅捷 高速 轻便 灵敏 好闻 清新 舒坦 暖暖"
    " 耐性 有耐性 棒棒 好评如潮 强烈推荐 必须好评 无可挑剔 一级棒 杠杠的 妥妥的 妥 没话说 很赞"
)
MORE_NEGATIVE_ZH = split_words(
    "压扁 压坏 挤坏 磕碰 碰坏 划痕 刮花 洒 撒 洒了 超时 迟到 晚点 慢吞吞 磨蹭 拖拉 不通知"
    " 不告知 隐瞒 不明 乱扣 吸费 欺诈 诈骗 套路 虚假 误导 夸大 拒绝 牵强 推卸 甩锅 不负责"
    " 不作为 踢来踢去 敷衍了事 恶劣 傲慢 嚣张 粗鲁 没礼貌 不礼貌 骂 吼 凶巴巴 冷冰冰 爱搭不理"
    " 答非所问 转圈 无响应 登不进 失灵 罢工 坏掉 损坏 碎 漏气 褪色 缩水 开线 起毛 异响 发烫"
    " 耗电 不耐用 不好使 不管用 不灵 没效果 无效 鸡肋 难看 难喝 变味 馊 不新鲜 腐烂 生虫"
    " 不干净 脏乱 脏乱差 吵 吵闹 嘈杂 拥挤 排长队 等半天 没人管 没人回 石沉大海 杳无音信"
    " 失联 联系不上 找不到人 打不通 白跑 白等 耽误时间 费时 费力 繁杂 头疼 闹心 糟心 窝火"
    " 恼火 火大 气死 绝望 无奈 心寒 寒心 上当 被坑 骗子 黑店 不诚信 不守信 食言 爽约 出尔反尔"
    " 强制 捆绑 割韭菜 天价 宰客 宰人 不划算 吃亏 坑死 太坑 差强人意 不尽人意 不尽如人意"
    " 一塌糊涂 乱七八糟 稀烂 垃圾中的垃圾 不合格 劣质 以次充好 缺斤少两 少了 短斤缺两 不符"
    " 不一致 对不上 货不对版 漏送 少送 送错 错送 误送 丢件 破洞 破了 坏了 断了 掉了 脱落"
    " 生锈 不好吃 难闻 刺鼻 过敏 受伤 危险 隐患 堵 卡住 死循环 乱码 登不上去 进不去 没反应"
    " 闪退了 收不到 没收到 不发货 不退 不给退 不给换 拖着 一拖再拖 遥遥无期 坑货 差到 好耐"
    " 咁耐 好慢 太慢"
)
LONG_TAIL_NEGATIVE_ZH = split_words(
    "拖拖拉拉 磨磨蹭蹭 泡 泡水 泡了 湿 湿了 受潮 发潮 有待改进 有待提高 需要改进 没电 冇电 掉电"
    " 充不进 发热 重启 自动重启 反应慢 反应迟钝 迟钝 不灵敏 不准确 误差 色差 褶皱 起皱 脱线 线头"
    " 毛边 粗制滥造 偷工减料 变小 漏液 渗漏 断裂 松动 摇晃 味道大 甲醛 发黄 发黑 临期 坏果 烂果"
    " 少件 缺件 缺货 断货 没货 发错货 延迟发货 迟迟 催了 一直催 投诉无门 推来推去 打太极"
    " 模板回复 机器人 自动回复 找不到人工 挂机 强行挂断 骂人 给脸色 甩脸子 不理不睬 外行 业务不熟"
    " 不熟练 手忙脚乱 混乱 没秩序 插队 蟑螂 虫子 异物 拉肚子 难以下咽 太咸 太甜 太油 油腻 没味道"
    " 冷掉 份量少 量少 分量不足 不便宜 小贵 偏贵 性价比低 收费高 额外收费 隐藏费用 诱导 强制消费"
    " 退不了 退不掉 取消不了 注销不了 解绑不了 门槛高 难懂 看不懂 搞不懂 不明确 模糊 含糊 说法不一"
    " 互相矛盾 来回跑 人太多 太挤 爆满 等太久 不及时 迟缓 效率低 低效 误点 放鸽子 失约 不守时"
    " 不负责任 醉了 一星 零分 负分 拉黑 劝退 避雷 踩雷 慎买 慎入 不建议 智商税 翻车 摔 摔坏"
    " 有待加强 不满足 很失望 非常失望 太失望 差点 糟透 透顶 一般般吧"
)
LONG_TAIL_POSITIVE_ZH = split_words(
    "明显 有效 见效 管用 好使 精准 正品 保真 饱满 香甜 脆 嫩 入味 地道 量大 包邮 免运费 当天到"
    " 利落 爽快 干脆 痛快 大方 主动 踏实 简便 容易 易懂 明白 规范 有序 井井有条 温馨 明亮 高级"
    " 质感好 手感好 皮实 强大 全面 爱了 绝了 yyds 太棒了 无限回购 必买 超预期 不赖 挺棒 真棒"
    " 顶级 可以可以 优惠多 折扣大 送货上门 快速响应 响应快 回复快 处理快 效率高 速度快 很快"
)
NEUTRAL_ZH = split_words(
    "一般 一般般 还行 还可以 可以 凑合 马马虎虎 普通 普普通通 没感觉 说不上来 无所谓 无 没有"
    " 没什么 没意见 没什么意见 麻麻 麻麻哋 中规中矩 不好说 没什么特别 一般啦 还好 就那样 平平"
    " 行吧 行 ok 一般化 算了"
)
POSITIVE_EN = split_words(
    "good great excellent awesome amazing fantastic perfect love loved lovely nice fast quick"
    " quickly speedy easy simple smooth friendly helpful polite kind professional courteous"
    " patient cheap affordable reasonable fair worth durable solid reliable happy satisfied"
    " pleased thanks thank recommend best efficient clean convenient early painless"
    " straightforward intuitive wonderful brilliant superb impressed glad enjoy enjoyed fresh"
    " tasty delicious comfortable prompt promptly responsive accurate seamless cool legit dope"
    " resolved solved fixed sorted works working well outstanding exceptional pleasant"
    " attentive knowledgeable competent smoothly decent"
)
NEGATIVE_EN = split_words(
    "bad terrible awful horrible poor worst slow late rude unhelpful expensive overpriced pricey"
    " costly broken broke defective faulty damaged crash crashes crashing crashed bug buggy"
    " glitch glitchy lost missing wrong error fail failed fails annoying frustrating frustrated"
    " disappointed disappointing useless waste hate sucks suck crap trash garbage ridiculous"
    " insane nightmare confusing complicated difficult hard hassle pain forever delay delayed"
    " dirty stale ripoff scam unacceptable angry upset mess messy ugly pending unresolved"
    " ignored ignore complaint complain lousy mediocre cold laggy lag slowly incompetent"
    " dismissive unprofessional clunky painful worse mistake problem issue tedious downhill"
    " waiting waited queue rubbish horrendous dreadful shocking pathetic joke"
)
LONG_TAIL_NEGATIVE_EN = split_words(
    "restocking soggy mushy bland greasy undercooked overcooked burnt leaked leaking leaky cracked"
    " scratched dented torn ripped stained faded flimsy wobbly noisy smelly stinks gross disgusting"
    " filthy moldy expired spoiled incorrect stolen misdelivered overdue backordered unreachable"
    " unanswered condescending impatient clueless careless sloppy lazy arrogant unfriendly"
    " disrespectful hostile yelled scammy misleading deceptive shady outrageous steep exorbitant"
    " hike surcharge freezes frozen freezing unresponsive outdated glitches errors bugs unusable"
    " convoluted bureaucratic endless lengthy cumbersome redundant repetitive annoyed furious"
    " livid appalled appalling letdown subpar underwhelming regret avoid beware"
)
LONG_TAIL_POSITIVE_EN = split_words(
    "unbeatable bargain generous spotless crisp yummy juicy sturdy robust snappy swift zippy"
    " flawless impeccable accommodating considerate thoughtful empathetic understanding caring warm"
    " welcoming cheerful upbeat organized effortless sleek polished neat tidy roomy cozy comfy"
    " spacious lifesaver thrilled delighted grateful appreciate appreciated"
)
NEUTRAL_EN = split_words("ok okay fine meh average alright so-so whatever n/a none nothing na")

PHRASES: dict[str, float] = {
    # idioms whose meaning is not the sum of their words (checked before single words)
    "没问题": 1, "没毛病": 1, "没啥毛病": 1, "没得说": 1, "没话说": 1, "挑不出毛病": 1.5,
    "无可挑剔": 1.5,
    "没什么问题": 1, "冇问题": 1, "没有问题": 1, "不错": 1, "不怎么样": -1, "不行": -1,
    "不好用": -1, "没用": -1, "投诉": -0.5, "道歉": 0.3, "不满": -1, "不爽": -1.5,
    "不靠谱": -1.5, "五星": 1.5,
    "会再来": 1, "还会再来": 1, "下次还": 0.5, "会推荐": 1, "推荐给": 1, "没什么特别的": 0,
    "没什么特别": 0, "好一个": 0, "也是没谁了": -1.5, "真是服了": -1.5, "服了": -1,
    "thanks for nothing": -2, "cheapest": 1, "no complaints": 1, "not bad": 0.8, "not too bad": 0.8,
    "never again": -2, "could be better": -0.8, "nothing special": 0, "not the best": -0.5,
    "not the worst": 0.5, "value for money": 1, "worth it": 1, "rip off": -1.5,
    "stopped working": -1.5, "too much": -1, "too many": -1, "too long": -1,
    "went down": -1, "another week": -1, "another day": -0.5, "another month": -1,
    "hung up": -1.5, "timing out": -1, "time out": -1,
    "no wait": 1, "right away": 1, "on time": 1, "in and out": 1, "hassle free": 1,
    "hassle-free": 1, "five stars": 1.5, "5 stars": 1.5, "10/10": 1.5, "so so": 0,
    "not happy": -1, "dark mode": 0, "user friendly": 1, "user-friendly": 1,
    "cant log in": -1, "can't log in": -1, "took forever": -1.5, "nothing to add": 0,
    "ages": -1, "took ages": -1.5, "a breeze": 1.5, "no questions asked": 1.5, "wont let": -1,
    "doesnt let": -1, "not working": -1.5, "no response": -1.5, "no reply": -1.5,
    "waste of time": -2, "waste of money": -2, "well done": 1.5,
    # frustration adverbs: a fact told with them is a complaint ("运费居然要二十块")
    "居然": -0.5, "竟然": -0.5, "总是": -0.5, "老是": -0.5, "一直": -0.5, "又": -0.5,
    "还得": -0.5, "还要": -0.5, "要自己": -0.5, "得自己": -0.5, "again": -0.5, "keeps": -0.5,
    "always": -0.3,
    # promptness: a fact told with them is praise ("到店马上就有人接待")
    "马上": 0.5, "立刻": 0.5, "立即": 0.5, "当场": 0.5, "第一时间": 0.5, "秒回": 1,
    "immediately": 1, "within minutes": 1, "in no time": 1, "same day": 0.5,
    "不如": -1, "不如预期": -1.5, "一言难尽": -1.5, "拉胯": -1.5, "好味": 1, "对得起": 1,
    "扣": -0.5, "自动扣费": -1, "自动续费": -0.5, "feels cheap": -1.5, "looks cheap": -1.5,
    "problem": -0.5, "issue": -0.5, "problems": -0.5, "issues": -0.5,
    "没啥好说": 0, "没什么好说": 0, "没啥说的": 0, "没啥": 0, "一致": 0.5, "相符": 0.5,
    "符合": 0.5, "gone up": -1, "went up": -1, "goes up": -1, "overcharged": -1.5,
    "overcharge": -1.5, "overcharging": -1.5,
    # emoji and faces (after NFKC and lower case)
    **dict.fromkeys(split_words("👍 👌 😊 😀 😁 😄 😃 🙂 😍 🥰 ❤ 💯 🎉 👏 🌟 ⭐ 😘 💪 🤩 😋"), 1.0),
    **dict.fromkeys(split_words(":) :-) :d =) ;) <3"), 1.0),
    **dict.fromkeys(split_words("👎 😡 😠 🤬 😤 💩 😭 😢 😞 😔 🙄 😒 😩 😫 🤮 💔 😓"), -1.0),
    **dict.fromkeys(split_words(":( :-( =("), -1.0),
    **dict.fromkeys(split_words("😐 😑 🤷"), 0.0),
    "可惜": -0.5, "遗憾": -0.5, "unfortunately": -0.5, "sadly": -0.5,
    "被": -0.5,  # the adversative passive: 被扣, 被拒, 被骗
    "涨": -1, "涨到": -1, "上涨": -1, "隐形消费": -1.5, "hidden": -1, "每次都": -0.5,
    "一分钱一分货": 1, "说不上好": 0, "说不上坏": 0, "不好不坏": 0, "不好也不坏": 0,
    "could not be happier": 2, "couldnt be happier": 2, "top notch": 1.5, "top-notch": 1.5,
    "和气": 1, "爱答不理": -1.5, "开胶": -1.5, "精细": 1, "可怜": -1, "老样子": -1,
    "弄好": 1, "不咋地": -1, "不咋样": -1, "跑腿": -0.5, "跑": -0.5,
    "黑着脸": -1.5, "黑脸": -1, "死板": -1, "threw": -1, "thrown": -1, "shrank": -1.5,
    "shrunk": -1.5, "出过问题": -1, "出过毛病": -1, "有过问题": -1, "等": -0.8,
    "let down": -1.5, "fell short": -1.5, "below average": -1, "stay away": -2,
    "exceeded expectations": 2, "above and beyond": 2, "a steal": 1.5, "mixed up": -1,
    "never arrived": -1.5, "went above": 1.5,
    "糟": -1, "失效": -1, "塑料味": -1, "老长": -1, "freeze": -1, "冻晒": -1,
    "could have been better": -1, "couldve been better": -1, "呵呵": -1, "随到随办": 1.5,
    "went out of her way": 2, "went out of his way": 2, "went out of their way": 2,
    "out of their way": 1.5, "next day": 0.5, "the next day": 0.5, "第二天就": 0.5, "次日": 0.3,
    "soft": 0.5, "premium": 1, "醒目": 1, "粘": -1, "蔫": -1, "蔫了": -1,
    "超出预期": 1.5, "物有所值": 1.5, "不清楚": -0.8, "不一样": -0.5,
    "货不对板": -1.5, "下次再嚟": 1, "下次再来": 1, "下次会再来": 1,
}  # fmt: skip

NEGATORS = frozenset(
    split_words(
        "不 没 没有 无 未 别 非 毫无 从不 从没 从来没 并不 并没 并非 不是 不太 不怎么 不算 不会"
        " 没啥 没什么 不用 没人 无法 未能 没能 还没 还未 从未 一直没 一直不 不要 不必 唔 冇 未有"
        " 唔系 唔算"
        " not no never nobody nothing none hardly barely without dont doesnt didnt isnt wasnt"
        " werent arent cant cannot couldnt wont wouldnt shouldnt havent hasnt hadnt aint nor"
        " neither"
    )
) | {"no one", "no longer"}
INTENSIFIERS: dict[str, float] = {
    word: 1.5
    for word in split_words(
        "很 非常 太 超 超级 特别 极其 极 十分 真 真是 真的 好 挺 蛮 相当 格外 实在 巨 贼"
        " 最 更 太过 过于 极度 好好 够 几 very so super really extremely too way totally"
        " absolutely incredibly highly truly quite most such"
    )
}
DOWNTONERS: dict[str, float] = {
    word: 0.5
    for word in split_words(
        "有点 有点儿 有些 稍微 稍 略 略微 一点 一点点 点 些 偶尔 有时 还算 比较 偏 a-bit bit"
        " slightly kinda kind-of somewhat little sometimes occasionally fairly"
    )
}
AFTER_INTENSIFIERS = split_words("极了 透了 死了 爆了 得很 得要死 到爆 极 透顶 晒 死 爆")
"""Intensifiers that follow their word ("棒极了", "糟透了", "烦死了")."""
CONTRASTS = frozenset(
    split_words(
        "但 但是 不过 可是 然而 就是 只是 可惜 唯一 but however yet except unfortunately sadly"
    )
)
"""Words that start a clause which outweighs what came before ("东西不错，就是贵")."""
CONCESSIONS = split_words("虽然 虽 尽管 虽说 除了 although though while")
"""Words that start a clause which weighs less ("虽然贵，但是好用")."""
WISHES = (
    *split_words("希望 建议 能不能 可不可以 能否 可以再 如果能 要是能 最好能 期待 盼望"),
    *("please", "suggest", "hope", "wish", "would be nice", "maybe add", "should add"),
    *("please add", "it would be"),
)
"""Wishes and suggestions: their praise words are not praise ("希望发货能快一点")."""
SARCASM_MARKERS = (
    "呵呵", "好一个", "真行", "也是没谁了", "真是服了", "好到", "真厉害啊", "oh great",
    "oh wonderful", "just great", "yeah right", "thanks for nothing", "wow", "oh joy",
    "great job", "bravo", "what a surprise", "lol great",
)  # fmt: skip
"""Cues that praise next to a hardship is irony ("呵呵，客服真专业，问三遍都答不上来")."""

SLANG_EN: dict[str, str] = {
    "r": "are", "u": "you", "ur": "your", "thx": "thanks", "thnx": "thanks", "ty": "thanks",
    "gr8": "great", "luv": "love", "sux": "sucks", "pls": "please", "plz": "please",
    "cust": "customer", "svc": "service", "srvc": "service", "msg": "message", "w/": "with",
    "coz": "because", "cuz": "because", "im": "i", "ive": "i", "idk": "dunno", "tbh": "",
    "asap": "", "lol": "", "lmao": "", "omg": "", "btw": "", "rly": "really", "v": "very",
    "pricy": "pricey", "ppl": "people", "mins": "minutes", "min": "minutes", "hrs": "hours",
    "hr": "hours", "wks": "weeks", "info": "information", "wtf": "terrible", "smh": "bad",
    "k": "ok",
}  # fmt: skip
"""Chat spellings read as the word they stand for ("" drops a word)."""

EVENTS = split_words(
    "到账 收到 到 回 回复 回电 更新 发货 退 退回 处理 到货 联系 接 接听 动静 下文 理 理睬"
    " arrived received came replied responded answered heard showed refunded delivered updated"
    " shipped called returned 说法 交代 解释 回音 消息 通知 know knew understand 敲门 打电话"
    " 一样 来 发 送 gotten get got load loads fixing fix picked pick knocked knock"
)
"""Things that should happen: saying nothing by themselves, their absence is a complaint
("退款还没到账", "refund never arrived")."""
COSTS = split_words(
    "价格 价钱 价 价位 收费 费用 运费 费 会员费 手续费 定价 价码 price prices cost costs fee"
    " fees charge charges pricing"
)
"""A clause about cost: 高 / high there is bad."""
TIMES = split_words(
    "时间 等待时间 等候时间 等 等了 排队 队 用时 耗时 花了 流程 手续 wait waiting line lines queue"
    " queues hold"
    " time take takes took taking process"
)
"""A clause about time: 长 / long there is bad."""
MATERIALS = split_words(
    "plastic material materials feels feel build made fabric 材质 做工 用料 手感"
)
"""A clause about what a thing is made of: cheap there is bad ("cheap plastic")."""
COMPETITORS = split_words(
    "别家 别人家 其他家 别的店 别的家 外面 出面 人家 同行 其他平台 别的平台 隔壁 隔壁店 对面"
    " elsewhere competitor"
    " competitors"
)
"""A clause about a competitor: its praise is our reproach ("同样的东西别家便宜一半")."""
LEANING_POSITIVE = split_words("ok okay 可以 行 还行 fine")
"""Lukewarm words that an intensifier makes praise ("很OK", "挺可以")."""
